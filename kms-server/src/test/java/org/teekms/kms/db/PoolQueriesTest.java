package org.teekms.kms.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.PoolOptions;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Statements against a PostgreSQL that is down fail once, with the connection error, and leave no
 * timer behind that fails them again ("IllegalStateException: Result is already complete", logged
 * by Vert.x as an uncaught exception during database outages).
 */
class PoolQueriesTest {

  @Test
  void statementsAgainstADownDatabaseFailOnceAndLeaveNoUncaughtDoubleCompletion() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort(); // nothing listens there once closed: connection refused
    }
    Vertx vertx = Vertx.vertx();
    List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    vertx.exceptionHandler(uncaught::add);
    Pool pool =
        Pool.newInstance(
            PgBuilder.pool()
                .connectingTo(
                    new PgConnectOptions()
                        .setHost("127.0.0.1")
                        .setPort(closedPort)
                        .setDatabase("postgres")
                        .setUser("postgres")
                        .setPassword("postgres"))
                .with(
                    new PoolOptions()
                        .setMaxSize(2)
                        .setConnectionTimeout(1)
                        .setConnectionTimeoutUnit(TimeUnit.SECONDS))
                .using(vertx.getDelegate())
                .build());
    try {
      for (int i = 0; i < 5; i++) {
        assertThrows(
            RuntimeException.class,
            () -> PoolQueries.query(pool, "SELECT 1").await().atMost(Duration.ofSeconds(20)));
        assertThrows(
            RuntimeException.class,
            () ->
                PoolQueries.preparedQuery(pool, "SELECT $1::int", Tuple.of(1))
                    .await()
                    .atMost(Duration.ofSeconds(20)));
      }
      // Past the pool's connection timeout (1 s), an armed timer would have fired by now.
      Thread.sleep(2500);
      assertEquals(List.of(), uncaught, "no promise was completed twice");
    } finally {
      pool.closeAndAwait();
      vertx.closeAndAwait();
    }
  }
}
