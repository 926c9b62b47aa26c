package org.teekms.kms.keystate;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.teekms.keys.AppId;

/**
 * Per-app key-version state in PostgreSQL. Versions only move forward: {@link #advance} creates
 * every version between the current one and the target (none skipped), pins each new version to the
 * CURRENT root generation, and raises the minimum; it never lowers either. Idempotent: advancing to
 * where the app already is changes nothing. (The chain's record of an app's versions is {@code
 * org.teekms.governance.AppKeyVersions}; this store follows it.)
 */
public final class AppKeyStateStore {

  /**
   * Most versions one advance may create: a policy asking for more is refused rather than looping
   * for hours.
   */
  public static final int MAX_VERSIONS_PER_ADVANCE = 1000;

  private AppKeyStateStore() {}

  public static Uni<Optional<AppKeyState>> read(SqlClient client, AppId appId) {
    return load(client, appId, false);
  }

  /** Reads and row-locks the app's state for the rest of {@code tx}. */
  public static Uni<Optional<AppKeyState>> readForUpdate(SqlConnection tx, AppId appId) {
    return load(tx, appId, true);
  }

  private static Uni<Optional<AppKeyState>> load(SqlClient client, AppId appId, boolean lock) {
    return client
        .preparedQuery(
            "SELECT current_version, min_version, last_rotated_at FROM app_key_state WHERE app_id = $1"
                + (lock ? " FOR UPDATE" : ""))
        .execute(Tuple.tuple().addBuffer(Buffer.buffer(appId.toBytes())))
        .onItem()
        .transformToUni(
            rows -> {
              if (rows.size() == 0) {
                return Uni.createFrom().item(Optional.<AppKeyState>empty());
              }
              Row s = rows.iterator().next();
              return client
                  .preparedQuery(
                      "SELECT version, root_generation FROM app_key_version WHERE app_id = $1 ORDER BY version")
                  .execute(Tuple.tuple().addBuffer(Buffer.buffer(appId.toBytes())))
                  .map(
                      vs -> {
                        List<AppKeyState.KeyVersion> versions = new ArrayList<>();
                        vs.forEach(
                            v ->
                                versions.add(
                                    new AppKeyState.KeyVersion(
                                        v.getInteger("version"), v.getInteger("root_generation"))));
                        return Optional.of(
                            new AppKeyState(
                                appId,
                                s.getInteger("current_version"),
                                s.getInteger("min_version"),
                                s.getLong("last_rotated_at"),
                                versions));
                      });
            });
  }

  /** What {@link #advance} did. */
  public record Advance(AppKeyState before, AppKeyState after, List<Integer> createdVersions) {
    public boolean changed() {
      return !createdVersions.isEmpty()
          || before == null
          || before.minVersion() != after.minVersion();
    }
  }

  /**
   * Moves the app to at least {@code targetCurrent} / {@code targetMin} within {@code tx}
   * (row-locked). New versions are pinned to {@code rootGeneration}. A target below the present
   * state is not an error: the state stays.
   */
  public static Uni<Advance> advance(
      SqlConnection tx,
      AppId appId,
      int targetCurrent,
      int targetMin,
      int rootGeneration,
      long now) {
    if (targetCurrent < 1 || targetMin < 1) {
      throw new IllegalArgumentException("key versions start at 1");
    }
    return readForUpdate(tx, appId)
        .onItem()
        .transformToUni(
            existing -> {
              AppKeyState before = existing.orElse(null);
              int fromCurrent = before == null ? 0 : before.currentVersion();
              int newCurrent = Math.max(fromCurrent, targetCurrent);
              int newMin =
                  Math.min(
                      newCurrent, Math.max(before == null ? 1 : before.minVersion(), targetMin));
              if (newCurrent - fromCurrent > MAX_VERSIONS_PER_ADVANCE) {
                return Uni.createFrom()
                    .failure(
                        new IllegalArgumentException(
                            "refusing to create "
                                + (newCurrent - fromCurrent)
                                + " key versions at once (from "
                                + fromCurrent
                                + " to "
                                + newCurrent
                                + "; limit "
                                + MAX_VERSIONS_PER_ADVANCE
                                + ")"));
              }
              List<Integer> created = new ArrayList<>();
              for (int v = fromCurrent + 1; v <= newCurrent; v++) {
                created.add(v);
              }
              boolean rotated = !created.isEmpty() && before != null;
              if (before == null) {
                // Two first admissions of one app may race here: ON CONFLICT waits for the other
                // insert; if that one won, this
                // advance starts over on the row it created (now locked FOR UPDATE), instead of
                // failing on the primary key.
                return tx.preparedQuery(
                        "INSERT INTO app_key_state (app_id, current_version, min_version, last_rotated_at, "
                            + "updated_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (app_id) DO NOTHING")
                    .execute(
                        Tuple.tuple()
                            .addBuffer(Buffer.buffer(appId.toBytes()))
                            .addInteger(newCurrent)
                            .addInteger(newMin)
                            .addLong(now))
                    .onItem()
                    .transformToUni(
                        rows ->
                            rows.rowCount() == 0
                                ? advance(tx, appId, targetCurrent, targetMin, rootGeneration, now)
                                : insertVersions(tx, appId, created, rootGeneration, now, null));
              }
              Uni<?> upsert =
                  tx.preparedQuery(
                          "UPDATE app_key_state SET current_version = $2, min_version = $3, updated_at = $4"
                              + (rotated ? ", last_rotated_at = $4" : "")
                              + " WHERE app_id = $1")
                      .execute(
                          Tuple.tuple()
                              .addBuffer(Buffer.buffer(appId.toBytes()))
                              .addInteger(newCurrent)
                              .addInteger(newMin)
                              .addLong(now));
              return upsert.chain(
                  () -> insertVersions(tx, appId, created, rootGeneration, now, before));
            });
  }

  private static Uni<Advance> insertVersions(
      SqlConnection tx,
      AppId appId,
      List<Integer> created,
      int rootGeneration,
      long now,
      AppKeyState before) {
    Uni<?> chain = Uni.createFrom().voidItem();
    for (int v : created) {
      chain =
          chain.chain(
              () ->
                  tx.preparedQuery(
                          "INSERT INTO app_key_version (app_id, version, root_generation, created_at) VALUES ($1, $2, $3, $4)")
                      .execute(
                          Tuple.tuple()
                              .addBuffer(Buffer.buffer(appId.toBytes()))
                              .addInteger(v)
                              .addInteger(rootGeneration)
                              .addLong(now)));
    }
    return chain
        .chain(() -> readForUpdate(tx, appId))
        .map(after -> new Advance(before, after.orElseThrow(), created));
  }
}
