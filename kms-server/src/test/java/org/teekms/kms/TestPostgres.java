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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.hibernate.boot.registry.StandardServiceRegistryBuilder;
import org.hibernate.cfg.Configuration;
import org.hibernate.engine.jdbc.spi.SqlExceptionHelper;
import org.hibernate.engine.jdbc.spi.SqlStatementLogger;
import org.hibernate.reactive.mutiny.Mutiny;
import org.hibernate.reactive.pool.ReactiveConnectionPool;
import org.hibernate.reactive.pool.impl.ExternalSqlClientPool;
import org.hibernate.reactive.provider.ReactiveServiceRegistryBuilder;
import org.hibernate.reactive.vertx.VertxInstance;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.db.EmbeddedPostgresServer;
import org.teekms.kms.db.SchemaMigrator;
import org.teekms.kms.db.StateSessions;

/**
 * A real PostgreSQL for one test class: embedded server in a temporary directory, schema migrated,
 * a reactive pool. Each call to {@link #freshDatabase} creates an empty migrated database, so tests
 * in a class do not see each other.
 */
public final class TestPostgres implements AutoCloseable {

  public static final Duration WAIT = Duration.ofSeconds(30);

  /**
   * The entities Quarkus discovers in the application (the tests outside Quarkus map the same
   * ones).
   */
  private static final java.util.List<Class<?>> ENTITIES =
      java.util.List.of(
          org.teekms.kms.grant.KeyGrantRecord.class,
          org.teekms.kms.keystate.AppKeyStateRecord.class,
          org.teekms.kms.keystate.AppKeyVersionRecord.class,
          org.teekms.kms.roots.RootGenerationRecord.class,
          org.teekms.kms.roots.RootSealRecord.class,
          org.teekms.kms.rotation.RotationJobRecord.class);

  private final Map<Pool, StateSessions> SESSIONS = new ConcurrentHashMap<>();

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
    DatabaseCoordinates db =
        new DatabaseCoordinates(
            admin.host(), admin.port(), name, admin.username(), admin.password());
    SchemaMigrator.migrate(db);
    return db;
  }

  public Pool pool(DatabaseCoordinates db, int size) {
    PgConnectOptions connect =
        new PgConnectOptions()
            .setHost(db.host())
            .setPort(db.port())
            .setDatabase(db.database())
            .setUser(db.username())
            .setPassword(db.password());
    return Pool.newInstance(
        PgBuilder.pool()
            .connectingTo(connect)
            .with(new PoolOptions().setMaxSize(size))
            .using(vertx.getDelegate())
            .build());
  }

  /**
   * Hibernate Reactive over {@code pool} (its connections, its transactions), bootstrapped as
   * Quarkus does it but without Quarkus: the same entities, no schema management (Flyway owns the
   * schema), statement batching on.
   */
  public StateSessions sessions(Pool pool) {
    return SESSIONS.computeIfAbsent(
        pool,
        p -> {
          Configuration cfg = new Configuration();
          ENTITIES.forEach(cfg::addAnnotatedClass);
          cfg.setProperty("hibernate.dialect", "org.hibernate.dialect.PostgreSQLDialect");
          cfg.setProperty("jakarta.persistence.database-product-name", "PostgreSQL");
          cfg.setProperty("jakarta.persistence.database-product-version", "14.0");
          cfg.setProperty("hibernate.boot.allow_jdbc_metadata_access", "false");
          cfg.setProperty("hibernate.hbm2ddl.auto", "none");
          cfg.setProperty("hibernate.jdbc.batch_size", "256");
          StandardServiceRegistryBuilder registry =
              new ReactiveServiceRegistryBuilder().applySettings(cfg.getProperties());
          io.vertx.core.Vertx core = vertx.getDelegate();
          registry.addService(VertxInstance.class, (VertxInstance) () -> core);
          registry.addService(
              ReactiveConnectionPool.class,
              new ExternalSqlClientPool(
                  p.getDelegate(), new SqlStatementLogger(), new SqlExceptionHelper(true)));
          Mutiny.SessionFactory factory =
              cfg.buildSessionFactory(registry.build()).unwrap(Mutiny.SessionFactory.class);
          return new StateSessions(factory, core);
        });
  }

  @Override
  public void close() {
    vertx.closeAndAwait();
    server.close();
    // The data directory (40-100 MB) is this instance's alone: remove it, or every test class (and,
    // under PIT, every
    // mutant run) leaves one behind in the temporary folder.
    try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
