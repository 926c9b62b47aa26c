package org.teekms.kms.rotation;

import io.smallrye.mutiny.Uni;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.hibernate.reactive.mutiny.Mutiny;
import org.teekms.keys.AppId;
import org.teekms.kms.db.StateSessions;

/**
 * Enqueues and reads rotation jobs ({@link RotationJobRecord}, through Hibernate Reactive).
 * Enqueueing is idempotent through a dedupe key: asking twice (from two replicas, or from the
 * scheduler and the CLI) for the same rotation yields one job ({@code ON CONFLICT DO NOTHING},
 * explicit SQL, then the job is read by its key).
 */
public final class RotationJobs {

  private final StateSessions sessions;
  private final Clock clock;

  public RotationJobs(StateSessions sessions, Clock clock) {
    this.sessions = sessions;
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
    return sessions.inTransaction(
        session -> enqueueAppRotation(session, appId, targetVersion, targetMinVersion, reason));
  }

  /** As {@link #enqueueAppRotation(AppId, int, int, String)}, inside the session's transaction. */
  public Uni<UUID> enqueueAppRotation(
      Mutiny.Session session, AppId appId, int targetVersion, int targetMinVersion, String reason) {
    if (targetVersion < 1 || targetMinVersion < 1 || targetMinVersion > targetVersion) {
      throw new IllegalArgumentException("app rotation needs 1 <= min <= target");
    }
    String key = "app:" + appId.toHex() + ":v" + targetVersion + ":min" + targetMinVersion;
    return enqueue(
        session,
        key,
        RotationJob.Kind.APP_ROTATION,
        appId,
        targetVersion,
        targetMinVersion,
        null,
        reason);
  }

  /**
   * Asks for a root generation rotation away from generation {@code fromGeneration} (the CURRENT
   * one). One job per generation: asking again while it runs returns the same job.
   */
  public Uni<UUID> enqueueRootRotation(int fromGeneration, String reason) {
    return sessions.inTransaction(session -> enqueueRootRotation(session, fromGeneration, reason));
  }

  /**
   * As {@link #enqueueRootRotation(int, String)}, inside the session's transaction (with its audit
   * entry).
   */
  public Uni<UUID> enqueueRootRotation(Mutiny.Session session, int fromGeneration, String reason) {
    return enqueue(
        session,
        "root:from" + fromGeneration,
        RotationJob.Kind.ROOT_ROTATION,
        null,
        null,
        null,
        fromGeneration,
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
      Mutiny.Session session, int retired, int current, long destroyAfter, long now) {
    RotationJobRecord job =
        new RotationJobRecord(
            UUID.randomUUID(),
            RotationJob.Kind.ROOT_ROTATION,
            "root:from" + retired,
            RotationJob.State.APPS_MOVED,
            "imported RETIRED at onboarding: destroy at the source's date",
            destroyAfter,
            now);
    job.generations(retired, current);
    return session.persist(job).chain(session::flush).replaceWith(job.jobId);
  }

  private Uni<UUID> enqueue(
      Mutiny.Session session,
      String dedupeKey,
      RotationJob.Kind kind,
      AppId appId,
      Integer targetVersion,
      Integer targetMinVersion,
      Integer fromGeneration,
      String reason) {
    long now = clock.millis();
    return session
        .createNativeQuery(
            "INSERT INTO rotation_job (job_id, dedupe_key, kind, app_id, target_version, "
                + "target_min_version, from_generation, reason, state, not_before, created_at, updated_at) "
                + "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'PENDING', ?9, ?9, ?9) "
                + "ON CONFLICT (dedupe_key) DO NOTHING")
        .setParameter(1, UUID.randomUUID())
        .setParameter(2, dedupeKey)
        .setParameter(3, kind.name())
        .setParameter(4, appId == null ? null : appId.toBytes())
        .setParameter(5, targetVersion)
        .setParameter(6, targetMinVersion)
        .setParameter(7, fromGeneration)
        .setParameter(8, reason)
        .setParameter(9, now)
        .executeUpdate()
        .chain(
            () ->
                session
                    .createSelectionQuery(
                        "select j.jobId from RotationJobRecord j where j.dedupeKey = :key",
                        UUID.class)
                    .setParameter("key", dedupeKey)
                    .getSingleResult());
  }

  public Uni<Optional<RotationJob>> get(UUID jobId) {
    return sessions.read(
        session ->
            session
                .find(RotationJobRecord.class, jobId)
                .map(j -> Optional.ofNullable(j).map(RotationJobRecord::toJob)));
  }

  /** Unfinished jobs, optionally ({@code appId} not null) for one app, oldest first. */
  public Uni<List<RotationJob>> unfinished(AppId appId) {
    return sessions.read(
        session -> {
          Mutiny.SelectionQuery<RotationJobRecord> query =
              session.createSelectionQuery(
                  "from RotationJobRecord j where j.finishedAt is null"
                      + (appId == null ? "" : " and j.appId = :app")
                      + " order by j.createdAt",
                  RotationJobRecord.class);
          if (appId != null) {
            query.setParameter("app", appId.toBytes());
          }
          return query
              .getResultList()
              .map(rows -> rows.stream().map(RotationJobRecord::toJob).toList());
        });
  }

  /** Every job, by dedupe key (tests and operators: the whole picture). */
  public Uni<List<RotationJob>> all() {
    return sessions.read(
        session ->
            session
                .createSelectionQuery(
                    "from RotationJobRecord j order by j.dedupeKey", RotationJobRecord.class)
                .getResultList()
                .map(rows -> rows.stream().map(RotationJobRecord::toJob).toList()));
  }
}
