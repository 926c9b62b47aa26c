package org.teekms.kms.db;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * One statement outside a transaction, on a connection taken from the pool ({@code
 * Pool#withConnection}), never through {@code Pool#query}/{@code Pool#preparedQuery}.
 *
 * <p>Why: Vert.x 4.5's pool-level execute ({@code SqlConnectionPool.execute}) arms a timer for the
 * pool's connection timeout (30 s by default) and cancels it only when a connection was acquired.
 * When the acquisition fails (PostgreSQL stopped, restarting, refusing connections), the caller's
 * promise is failed at once and the timer, firing later, fails it a second time: Vert.x logs an
 * uncaught {@code IllegalStateException: Result is already complete} for every such statement
 * (eclipse-vertx/vertx-sql-client#1706; seen here as ERROR lines during database outages,
 * docs/reliability.md). A connection acquired through {@code withConnection} takes the pool's
 * acquisition path, whose timeout is cancelled either way; the statement and its result are the
 * same.
 */
public final class PoolQueries {

  private PoolQueries() {}

  /** {@code sql} without parameters. */
  public static Uni<RowSet<Row>> query(Pool pool, String sql) {
    return pool.withConnection(c -> c.query(sql).execute());
  }

  /** {@code sql} with {@code args} ({@code $1}, {@code $2}, …). */
  public static Uni<RowSet<Row>> preparedQuery(Pool pool, String sql, Tuple args) {
    return pool.withConnection(c -> c.preparedQuery(sql).execute(args));
  }
}
