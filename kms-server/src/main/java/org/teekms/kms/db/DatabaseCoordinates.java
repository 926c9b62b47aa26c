package org.teekms.kms.db;

import java.net.URI;
import java.util.Objects;

/**
 * Where the database is: host, port, database name and credentials, convertible to the JDBC URL
 * (Flyway) and to the reactive client's URI. {@code toString} leaves the password out.
 */
public record DatabaseCoordinates(
    String host, int port, String database, String username, String password) {

  public DatabaseCoordinates {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(database, "database");
    Objects.requireNonNull(username, "username");
    Objects.requireNonNull(password, "password");
    if (port <= 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
  }

  /**
   * Parses {@code postgresql://host:port/db} (the reactive client's form) or {@code
   * jdbc:postgresql://host:port/db}; query parameters are not supported here and are refused rather
   * than silently dropped.
   */
  public static DatabaseCoordinates parse(String url, String username, String password) {
    String u = url.startsWith("jdbc:") ? url.substring(5) : url;
    URI uri = URI.create(u);
    if (!"postgresql".equals(uri.getScheme()) && !"postgres".equals(uri.getScheme())) {
      throw new IllegalArgumentException("not a PostgreSQL URL: " + url);
    }
    if (uri.getQuery() != null) {
      throw new IllegalArgumentException(
          "URL query parameters are not supported; use the datasource settings: " + url);
    }
    String path = uri.getPath() == null ? "" : uri.getPath();
    String database = path.startsWith("/") ? path.substring(1) : path;
    if (uri.getHost() == null || database.isEmpty()) {
      throw new IllegalArgumentException("PostgreSQL URL needs a host and a database: " + url);
    }
    return new DatabaseCoordinates(
        uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), database, username, password);
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://" + host + ":" + port + "/" + database;
  }

  public String reactiveUrl() {
    return "postgresql://" + host + ":" + port + "/" + database;
  }

  @Override
  public String toString() {
    return "DatabaseCoordinates[" + reactiveUrl() + ", user=" + username + ", password=<redacted>]";
  }
}
