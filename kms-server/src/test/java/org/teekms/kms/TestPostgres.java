package org.teekms.kms;

import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.PoolOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.db.EmbeddedPostgresServer;
import org.teekms.kms.db.SchemaMigrator;

/**
 * A real PostgreSQL for one test class: embedded server in a temporary directory, schema migrated, a reactive pool.
 * Each call to {@link #freshDatabase} creates an empty migrated database, so tests in a class do not see each other.
 */
public final class TestPostgres implements AutoCloseable {

  public static final Duration WAIT = Duration.ofSeconds(30);

  private final Path dir;
  private final EmbeddedPostgresServer server;
  private final Vertx vertx = Vertx.vertx();
  private int databases;

  public TestPostgres() {
    try {
      dir = Files.createTempDirectory("teekms-pg");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server = EmbeddedPostgresServer.start(dir.resolve("pgdata"), 0);
  }

  public EmbeddedPostgresServer server() {
    return server;
  }

  public Vertx vertx() {
    return vertx;
  }

  /** A new empty database with the schema applied. */
  public DatabaseCoordinates freshDatabase() {
    DatabaseCoordinates admin = server.coordinates();
    String name = "t" + (++databases) + "_" + ProcessHandle.current().pid();
    Pool adminPool = pool(admin, 1);
    try {
      adminPool.query("CREATE DATABASE " + name).execute().await().atMost(WAIT);
    } finally {
      adminPool.closeAndAwait();
    }
    DatabaseCoordinates db = new DatabaseCoordinates(admin.host(), admin.port(), name, admin.username(), admin.password());
    SchemaMigrator.migrate(db);
    return db;
  }

  public Pool pool(DatabaseCoordinates db, int size) {
    PgConnectOptions connect = new PgConnectOptions().setHost(db.host()).setPort(db.port()).setDatabase(db.database())
        .setUser(db.username()).setPassword(db.password());
    return Pool.newInstance(PgBuilder.pool().connectingTo(connect).with(new PoolOptions().setMaxSize(size))
        .using(vertx.getDelegate()).build());
  }

  @Override
  public void close() {
    vertx.closeAndAwait();
    server.close();
  }
}
