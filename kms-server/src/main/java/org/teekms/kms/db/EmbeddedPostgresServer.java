package org.teekms.kms.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real PostgreSQL server (zonky's embedded binaries) whose data lives in a directory of ours, so the KMS runs with
 * one command when no database is configured, and keeps its state across restarts. Listens on loopback only.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  private final EmbeddedPostgres postgres;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  /**
   * Starts PostgreSQL on {@code dataDirectory} (created and initialised on first use, reused afterwards).
   *
   * @param port 0 for a free port
   */
  public static EmbeddedPostgresServer start(Path dataDirectory, int port) {
    try {
      Files.createDirectories(dataDirectory);
      EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
          .setDataDirectory(dataDirectory)
          .setCleanDataDirectory(false)
          .setServerConfig("listen_addresses", "127.0.0.1")
          .setServerConfig("max_connections", "100")
          // The library's test-oriented defaults (fsync off via -F, synchronous_commit off) would let a crash lose
          // committed grants and their audit entries after the keys were released, or corrupt the data directory.
          // Durable settings; "-c fsync=on" follows "-F" on the command line and so takes precedence.
          .setServerConfig("fsync", "on")
          .setServerConfig("synchronous_commit", "on");
      if (port > 0) {
        builder.setPort(port);
      }
      return new EmbeddedPostgresServer(builder.start());
    } catch (IOException e) {
      throw new UncheckedIOException("could not start embedded PostgreSQL in " + dataDirectory, e);
    }
  }

  /** The built-in superuser on the built-in database; reachable from loopback only. */
  public DatabaseCoordinates coordinates() {
    return new DatabaseCoordinates("127.0.0.1", postgres.getPort(), "postgres", "postgres", "postgres");
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException("could not stop embedded PostgreSQL", e);
    }
  }
}
