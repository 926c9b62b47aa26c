package org.teekms.kms.rotation;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.teekms.keys.AppId;

/**
 * Enqueues and reads rotation jobs. Enqueueing is idempotent through a dedupe key: asking twice
 * (from two replicas, or from the scheduler and the CLI) for the same rotation yields one job.
 */
public final class RotationJobs {

  private final Pool pool;
  private final Clock clock;

  public RotationJobs(Pool pool, Clock clock) {
    this.pool = pool;
    this.clock = clock;
  }

  /**
   * Asks for an app to reach key version {@code targetVersion} (and minimum {@code
   * targetMinVersion}).
   *
   * @return the job id: the new job's, or the existing one's for the same target
   */
  public Uni<UUID> enqueueAppRotation(
      AppId appId, int targetVersion, int targetMinVersion, String reason) {
    return enqueueAppRotation(pool, appId, targetVersion, targetMinVersion, reason);
  }

  /** As {@link #enqueueAppRotation(AppId, int, int, String)}, inside the caller's transaction. */
  public Uni<UUID> enqueueAppRotation(
      SqlClient client, AppId appId, int targetVersion, int targetMinVersion, String reason) {
    if (targetVersion < 1 || targetMinVersion < 1 || targetMinVersion > targetVersion) {
      throw new IllegalArgumentException("app rotation needs 1 <= min <= target");
    }
    String key = "app:" + appId.toHex() + ":v" + targetVersion + ":min" + targetMinVersion;
    return enqueue(
        client,
        key,
        Tuple.tuple()
            .addString("APP_ROTATION")
            .addBuffer(Buffer.buffer(appId.toBytes()))
            .addInteger(targetVersion)
            .addInteger(targetMinVersion)
            .addValue(null),
        reason);
  }

  /**
   * Asks for a root generation rotation away from generation {@code fromGeneration} (the CURRENT
   * one). One job per generation: asking again while it runs returns the same job.
   */
  public Uni<UUID> enqueueRootRotation(int fromGeneration, String reason) {
    return enqueueRootRotation(pool, fromGeneration, reason);
  }

  /**
   * As {@link #enqueueRootRotation(int, String)}, inside the caller's transaction (with its audit
   * entry).
   */
  public Uni<UUID> enqueueRootRotation(SqlClient client, int fromGeneration, String reason) {
    return enqueue(
        client,
        "root:from" + fromGeneration,
        Tuple.tuple()
            .addString("ROOT_ROTATION")
            .addValue(null)
            .addValue(null)
            .addValue(null)
            .addInteger(fromGeneration),
        reason);
  }

  /**
   * The local tail of a root rotation that ran on an onboarding source: {@code retired} arrived
   * RETIRED with the source's destruction date. Recorded as that rotation's job in APPS_MOVED with
   * {@code not_before = destroyAfter}, so the scheduler destroys this node's copy at the source's
   * date, with the usual audit entry. Same dedupe key as a local rotation away from {@code retired}
   * (which can no longer be asked for: it is not CURRENT).
   */
  public static Uni<UUID> recordImportedRetirement(
      SqlClient tx, int retired, int current, long destroyAfter, long now) {
    UUID id = UUID.randomUUID();
    return tx.preparedQuery(
            "INSERT INTO rotation_job (job_id, dedupe_key, kind, from_generation, target_generation, "
                + "reason, state, not_before, created_at, updated_at) VALUES ($1, $2, 'ROOT_ROTATION', $3, $4, $5, "
                + "'APPS_MOVED', $6, $7, $7)")
        .execute(
            Tuple.tuple()
                .addUUID(id)
                .addString("root:from" + retired)
                .addInteger(retired)
                .addInteger(current)
                .addString("imported RETIRED at onboarding: destroy at the source's date")
                .addLong(destroyAfter)
                .addLong(now))
        .replaceWith(id);
  }

  private Uni<UUID> enqueue(SqlClient client, String dedupeKey, Tuple fields, String reason) {
    long now = clock.millis();
    UUID id = UUID.randomUUID();
    Tuple args = Tuple.tuple().addUUID(id).addString(dedupeKey);
    for (int i = 0; i < fields.size(); i++) {
      args.addValue(fields.getValue(i));
    }
    args.addString(reason).addLong(now);
    return client
        .preparedQuery(
            "INSERT INTO rotation_job (job_id, dedupe_key, kind, app_id, target_version, "
                + "target_min_version, from_generation, reason, state, not_before, created_at, updated_at) "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', $9, $9, $9) ON CONFLICT (dedupe_key) DO NOTHING")
        .execute(args)
        .chain(
            () ->
                client
                    .preparedQuery("SELECT job_id FROM rotation_job WHERE dedupe_key = $1")
                    .execute(Tuple.of(dedupeKey)))
        .map(rows -> rows.iterator().next().getUUID("job_id"));
  }

  public Uni<Optional<RotationJob>> get(UUID jobId) {
    return org.teekms.kms.db.PoolQueries.preparedQuery(
            pool, "SELECT * FROM rotation_job WHERE job_id = $1", Tuple.of(jobId))
        .map(
            rows ->
                rows.size() == 0 ? Optional.empty() : Optional.of(read(rows.iterator().next())));
  }

  /** Unfinished jobs, optionally for one app, oldest first. */
  public Uni<List<RotationJob>> unfinished(SqlClient client, AppId appId) {
    String sql =
        "SELECT * FROM rotation_job WHERE finished_at IS NULL"
            + (appId == null ? "" : " AND app_id = $1")
            + " ORDER BY created_at";
    Tuple args =
        appId == null ? Tuple.tuple() : Tuple.tuple().addBuffer(Buffer.buffer(appId.toBytes()));
    return client
        .preparedQuery(sql)
        .execute(args)
        .map(
            rows -> {
              List<RotationJob> out = new ArrayList<>();
              rows.forEach(r -> out.add(read(r)));
              return out;
            });
  }

  static RotationJob read(Row r) {
    Buffer app = r.getBuffer("app_id");
    return new RotationJob(
        r.getUUID("job_id"),
        RotationJob.Kind.valueOf(r.getString("kind")),
        r.getString("dedupe_key"),
        Optional.ofNullable(app).map(b -> AppId.of(b.getBytes())),
        Optional.ofNullable(r.getInteger("target_version")),
        Optional.ofNullable(r.getInteger("target_min_version")),
        Optional.ofNullable(r.getInteger("from_generation")),
        Optional.ofNullable(r.getInteger("target_generation")),
        RotationJob.State.valueOf(r.getString("state")),
        r.getString("reason"),
        r.getInteger("attempts"),
        Optional.ofNullable(r.getString("last_error")),
        r.getLong("not_before"),
        r.getLong("created_at"),
        r.getLong("updated_at"));
  }
}
