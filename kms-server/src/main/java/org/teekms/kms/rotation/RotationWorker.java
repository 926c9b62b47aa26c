package org.teekms.kms.rotation;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.custody.BackupMismatch;
import org.teekms.kms.custody.RootBackups;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootSecrets;
import org.teekms.kms.roots.RootState;

/**
 * Runs rotation jobs one step at a time. Each step is ONE transaction that (1) claims the job row
 * with {@code FOR UPDATE SKIP LOCKED}, (2) re-reads its state, (3) applies that state's effect, its
 * audit entry and the transition together. Hence:
 *
 * <ul>
 *   <li>crash-safe: a process killed mid-step leaves no trace of that step; the next worker redoes
 *       it from the committed state, and the final state is the same;
 *   <li>never run twice: a second replica skips a locked job, and a step whose transition committed
 *       is not redone because its state has moved on;
 *   <li>no key lost, no version skipped: versions are created by {@link AppKeyStateStore#advance},
 *       which never skips, and root secrets exist only once their insert committed.
 * </ul>
 *
 * <p>With root custody ({@link RootBackups}), a root rotation has one more state, BACKED_UP,
 * between GENERATED and PROMOTED, and the same argument holds for the share store, which is outside
 * the database:
 *
 * <ul>
 *   <li>GENERATED → BACKED_UP stages the backup: split, envelopes written to a staging folder
 *       custodians never read, the backup record inserted, all before the commit. Killed before the
 *       commit: the transaction is gone, the staging folder is an orphan no record names (nothing
 *       of it can be published: the owner publishes only the visible {@code generation-G} folder);
 *       the retry splits afresh and sweeps it. Killed after: the record is the generation's one
 *       backup and is never split again.
 *   <li>BACKED_UP makes the staged folder visible (an atomic rename, idempotent: a kill after it is
 *       harmless), checks the chain, and promotes in the same transaction only if the published
 *       backup equals the record (or, with {@code teekms.custody.require-published=false}, also
 *       before it is published). Not yet published: the job waits ({@code not_before} moves on, no
 *       error counted). Published but different, or a record that does not authenticate: the job
 *       FAILS and the generation is never promoted (fail closed).
 * </ul>
 *
 * So a generation is never CURRENT without a stored backup, and by default never without a
 * published one; a kill between split, store and publish costs at most a redone split of a backup
 * nobody has seen. All of a step is on ONE connection: the claim, the effect, its audit entry
 * ({@link AuditLog#append( io.vertx.mutiny.sqlclient.SqlConnection,
 * org.teekms.kms.audit.AuditDraft)}: explicit SQL in this transaction, never the group commit,
 * whose entries commit in transactions of their own) and the transition. The worker therefore stays
 * on the SQL client until key versions, root generations and jobs move to Hibernate Reactive
 * together (one session per step would keep the argument as it is).
 */
public final class RotationWorker {

  private static final Logger LOG = Logger.getLogger(RotationWorker.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Pool pool;
  private final RootGenerationStore roots;
  private final AuditLog audit;
  private final Clock clock;
  private final Duration rootGrace;
  private final int appBatch;
  private final StepHook hook;
  private final RootBackups custody;
  private final Duration publicationRecheck;

  /**
   * @param rootGrace how long a retired root generation still derives its pinned versions before it
   *     is destroyed
   * @param appBatch apps moved to a new root generation per step
   */
  public RotationWorker(
      Pool pool,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock,
      Duration rootGrace,
      int appBatch,
      StepHook hook) {
    this(pool, roots, audit, clock, rootGrace, appBatch, hook, null, Duration.ofSeconds(30));
  }

  /**
   * @param custody backs up each new generation before it is promoted; null = no custody
   * @param publicationRecheck how long a rotation waiting for its backup's on-chain publication
   *     waits between checks
   */
  public RotationWorker(
      Pool pool,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock,
      Duration rootGrace,
      int appBatch,
      StepHook hook,
      RootBackups custody,
      Duration publicationRecheck) {
    this.custody = custody;
    this.publicationRecheck = publicationRecheck;
    if (appBatch < 1) {
      throw new IllegalArgumentException("appBatch must be positive");
    }
    this.pool = pool;
    this.roots = roots;
    this.audit = audit;
    this.clock = clock;
    this.rootGrace = rootGrace;
    this.appBatch = appBatch;
    this.hook = hook;
  }

  /**
   * Runs at most one step of one runnable job; empty when nothing is runnable (or all runnable jobs
   * are locked).
   */
  public Uni<Optional<StepResult>> runOneStep() {
    long now = clock.millis();
    AtomicReference<UUID> claimedId = new AtomicReference<>();
    return pool.withTransaction(
            tx ->
                tx.preparedQuery(
                        "SELECT * FROM rotation_job WHERE finished_at IS NULL "
                            + "AND not_before <= $1 ORDER BY created_at, job_id LIMIT 1 FOR UPDATE SKIP LOCKED")
                    .execute(Tuple.of(now))
                    .onItem()
                    .transformToUni(
                        rows -> {
                          if (rows.size() == 0) {
                            return Uni.createFrom().item(Optional.<Claimed>empty());
                          }
                          RotationJob job = RotationJobs.read(rows.iterator().next());
                          claimedId.set(job.jobId());
                          return step(tx, job, now)
                              .map(r -> Optional.of(new Claimed(job, r, null)))
                              .onFailure(RotationAbort.class)
                              .recoverWithItem(e -> Optional.of(new Claimed(job, null, e)));
                        })
                    .call(
                        claimed ->
                            claimed
                                .filter(c -> c.abort != null)
                                .map(c -> markFailed(tx, c.job, c.abort.getMessage(), now))
                                .orElse(Uni.createFrom().voidItem())))
        .onFailure(e -> !(e instanceof StepHookCrash) && claimedId.get() != null)
        .call(e -> recordError(claimedId.get(), e))
        .map(
            claimed ->
                claimed.map(
                    c ->
                        c.abort == null
                            ? c.result
                            : new StepResult(
                                c.job.jobId(),
                                c.job.kind(),
                                c.job.state(),
                                RotationJob.State.FAILED,
                                c.abort.getMessage())));
  }

  /**
   * Runs steps until nothing is runnable or {@code maxSteps} were run; returns the steps run, in
   * order.
   */
  public Uni<List<StepResult>> runUntilIdle(int maxSteps) {
    return runFrom(new ArrayList<>(), maxSteps);
  }

  private Uni<List<StepResult>> runFrom(List<StepResult> done, int left) {
    if (left == 0) {
      return Uni.createFrom().item(done);
    }
    return runOneStep()
        .onItem()
        .transformToUni(
            r -> {
              if (r.isEmpty()) {
                return Uni.createFrom().item(done);
              }
              done.add(r.get());
              return runFrom(done, left - 1);
            });
  }

  private record Claimed(RotationJob job, StepResult result, Throwable abort) {}

  /**
   * Marker for failures thrown by a {@link StepHook} (a simulated crash): nothing is recorded, as
   * after a kill.
   */
  public static final class StepHookCrash extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StepHookCrash(String message) {
      super(message);
    }
  }

  private Uni<StepResult> step(SqlConnection tx, RotationJob job, long now) {
    return switch (job.kind()) {
      case APP_ROTATION -> appRotation(tx, job, now);
      case ROOT_ROTATION ->
          switch (job.state()) {
            case PENDING -> generate(tx, job, now);
            case GENERATED -> custody == null ? promote(tx, job, now) : stageBackup(tx, job, now);
            case BACKED_UP ->
                custody == null ? promote(tx, job, now) : promoteBackedUp(tx, job, now);
            case PROMOTED -> moveApps(tx, job, now);
            case APPS_MOVED -> destroyOld(tx, job, now);
            default ->
                Uni.createFrom().failure(new RotationAbort("unexpected state " + job.state()));
          };
    };
  }

  // APP_ROTATION, PENDING -> DONE: create the missing versions on the current generation, raise the
  // minimum.
  private Uni<StepResult> appRotation(SqlConnection tx, RotationJob job, long now) {
    org.teekms.keys.AppId appId = job.appId().orElseThrow();
    return roots
        .current(tx)
        .onItem()
        .transformToUni(
            current -> {
              if (current.isEmpty()) {
                return Uni.createFrom()
                    .failure(
                        new IllegalStateException(
                            "no CURRENT root generation (KMS not bootstrapped)"));
              }
              int generation = current.get().generation();
              return AppKeyStateStore.advance(
                      tx,
                      appId,
                      job.targetVersion().orElseThrow(),
                      job.targetMinVersion().orElseThrow(),
                      generation,
                      now)
                  .onItem()
                  .transformToUni(
                      adv -> {
                        Map<String, Object> facts = new TreeMap<>();
                        facts.put("jobId", job.jobId().toString());
                        facts.put("reason", job.reason());
                        facts.put(
                            "fromVersion",
                            adv.before() == null ? 0 : adv.before().currentVersion());
                        facts.put("toVersion", adv.after().currentVersion());
                        facts.put("minVersion", adv.after().minVersion());
                        facts.put("createdVersions", adv.createdVersions());
                        facts.put("rootGeneration", generation);
                        return audit
                            .append(
                                tx, AuditDraft.allowed("ROTATION", appId, AuditDetail.json(facts)))
                            .chain(() -> transition(tx, job, RotationJob.State.DONE, now, null))
                            .replaceWith(
                                new StepResult(
                                    job.jobId(),
                                    job.kind(),
                                    job.state(),
                                    RotationJob.State.DONE,
                                    "app "
                                        + appId.toHex()
                                        + " at version "
                                        + adv.after().currentVersion()
                                        + " (min "
                                        + adv.after().minVersion()
                                        + ", created "
                                        + adv.createdVersions()
                                        + ")"));
                      });
            });
  }

  // ROOT_ROTATION, PENDING -> GENERATED: a new random root secret, sealed, as a STAGED generation.
  private Uni<StepResult> generate(SqlConnection tx, RotationJob job, long now) {
    return tx.query("SELECT generation, state FROM root_generation ORDER BY generation")
        .execute()
        .onItem()
        .transformToUni(
            rows -> {
              int max = 0;
              Integer current = null;
              for (Row r : rows) {
                max = Math.max(max, r.getInteger("generation"));
                if (RootState.CURRENT.name().equals(r.getString("state"))) {
                  current = r.getInteger("generation");
                }
              }
              if (current == null) {
                return Uni.createFrom()
                    .failure(new RotationAbort("no CURRENT root generation to rotate from"));
              }
              if (!current.equals(job.fromGeneration().orElse(current))) {
                return Uni.createFrom()
                    .failure(
                        new RotationAbort(
                            "the CURRENT root generation is "
                                + current
                                + ", not "
                                + job.fromGeneration().get()
                                + " as this job expects (another rotation ran?)"));
              }
              int from = current;
              int target = max + 1;
              byte[] secret = RootSecrets.draw(RANDOM);
              Uni<Void> insert;
              try {
                insert = roots.insert(tx, target, RootState.STAGED, secret, now);
              } finally {
                Arrays.fill(secret, (byte) 0);
              }
              return insert
                  .chain(
                      () ->
                          audit.append(
                              tx,
                              AuditDraft.allowed(
                                  "ROOT_GENERATION",
                                  null,
                                  AuditDetail.json(
                                      Map.of(
                                          "jobId",
                                          job.jobId().toString(),
                                          "step",
                                          "generated",
                                          "generation",
                                          target,
                                          "fromGeneration",
                                          from)))))
                  .chain(
                      () ->
                          tx.preparedQuery(
                                  "UPDATE rotation_job SET from_generation = $2, target_generation = $3 WHERE job_id = $1")
                              .execute(Tuple.of(job.jobId(), from, target)))
                  .chain(() -> transition(tx, job, RotationJob.State.GENERATED, now, null))
                  .replaceWith(
                      new StepResult(
                          job.jobId(),
                          job.kind(),
                          job.state(),
                          RotationJob.State.GENERATED,
                          "generated root generation " + target + " (staged)"));
            });
  }

  // GENERATED -> BACKED_UP (custody): the new generation's backup is split, sealed, staged and
  // recorded.
  private Uni<StepResult> stageBackup(SqlConnection tx, RotationJob job, long now) {
    int target = job.targetGeneration().orElseThrow();
    return custody
        .stage(tx, target)
        .onFailure(BackupMismatch.class)
        .transform(e -> new RotationAbort(e.getMessage()))
        .call(
            record ->
                audit.append(
                    tx,
                    AuditDraft.allowed(
                        "ROOT_CUSTODY",
                        null,
                        AuditDetail.json(
                            Map.of(
                                "jobId",
                                job.jobId().toString(),
                                "step",
                                "backup-staged",
                                "generation",
                                target,
                                "threshold",
                                record.threshold(),
                                "custodians",
                                record.custodianIds().size(),
                                "commitmentsDigest",
                                HexFormat.of()
                                    .formatHex(
                                        org.teekms.crypto.Digests.sha256(record.commitments())))))))
        .call(record -> transition(tx, job, RotationJob.State.BACKED_UP, now, null))
        .map(
            record ->
                new StepResult(
                    job.jobId(),
                    job.kind(),
                    job.state(),
                    RotationJob.State.BACKED_UP,
                    "generation "
                        + target
                        + " split "
                        + record.threshold()
                        + "-of-"
                        + record.custodianIds().size()
                        + " and staged in the share store"));
  }

  // BACKED_UP -> PROMOTED once the backup is visible and (when required) published on chain exactly
  // as recorded;
  // BACKED_UP -> BACKED_UP (later) while it is not published.
  private Uni<StepResult> promoteBackedUp(SqlConnection tx, RotationJob job, long now) {
    int target = job.targetGeneration().orElseThrow();
    return custody
        .revealAndCheck(tx, target)
        .onFailure(BackupMismatch.class)
        .transform(e -> new RotationAbort(e.getMessage()))
        .onItem()
        .transformToUni(
            publication -> {
              boolean published = publication == RootBackups.Publication.PUBLISHED;
              if (!published && custody.settings().requirePublished()) {
                String why =
                    "waiting for the backup of root generation "
                        + target
                        + " to be published on chain: "
                        + "teekms gov publish-backup --store "
                        + custody.settings().store()
                        + " --generation "
                        + target
                        + " (teekms.custody.require-published=true)";
                hook.beforeCommit(job.jobId(), job.state(), job.state());
                return tx.preparedQuery(
                        "UPDATE rotation_job SET not_before = $2, last_error = $3, updated_at = $4 "
                            + "WHERE job_id = $1")
                    .execute(Tuple.of(job.jobId(), now + publicationRecheck.toMillis(), why, now))
                    .replaceWith(
                        new StepResult(job.jobId(), job.kind(), job.state(), job.state(), why));
              }
              return audit
                  .append(
                      tx,
                      AuditDraft.allowed(
                          "ROOT_CUSTODY",
                          null,
                          AuditDetail.json(
                              Map.of(
                                  "jobId",
                                  job.jobId().toString(),
                                  "step",
                                  published ? "backup-published" : "backup-unpublished",
                                  "generation",
                                  target))))
                  .chain(() -> promote(tx, job, now));
            });
  }

  // GENERATED -> PROMOTED: the new generation becomes CURRENT, the old one RETIRED with its
  // destruction date.
  private Uni<StepResult> promote(SqlConnection tx, RotationJob job, long now) {
    int from = job.fromGeneration().orElseThrow();
    int target = job.targetGeneration().orElseThrow();
    long destroyAfter = now + rootGrace.toMillis();
    return tx.preparedQuery(
            "UPDATE root_generation SET state = 'RETIRED', retired_at = $2, destroy_after = $3 "
                + "WHERE generation = $1 AND state = 'CURRENT'")
        .execute(Tuple.of(from, now, destroyAfter))
        .onItem()
        .transformToUni(
            r1 -> {
              if (r1.rowCount() != 1) {
                return Uni.createFrom()
                    .failure(new RotationAbort("generation " + from + " is no longer CURRENT"));
              }
              return tx.preparedQuery(
                      "UPDATE root_generation SET state = 'CURRENT' WHERE generation = $1 AND state = 'STAGED'")
                  .execute(Tuple.of(target));
            })
        .onItem()
        .transformToUni(
            r2 -> {
              if (r2.rowCount() != 1) {
                return Uni.createFrom()
                    .failure(new RotationAbort("generation " + target + " is not STAGED"));
              }
              return audit.append(
                  tx,
                  AuditDraft.allowed(
                      "ROOT_GENERATION",
                      null,
                      AuditDetail.json(
                          Map.of(
                              "jobId",
                              job.jobId().toString(),
                              "step",
                              "promoted",
                              "generation",
                              target,
                              "retiredGeneration",
                              from,
                              "destroyAfter",
                              destroyAfter))));
            })
        .chain(() -> transition(tx, job, RotationJob.State.PROMOTED, now, null))
        .replaceWith(
            new StepResult(
                job.jobId(),
                job.kind(),
                job.state(),
                RotationJob.State.PROMOTED,
                "generation "
                    + target
                    + " is current; generation "
                    + from
                    + " retired until "
                    + destroyAfter));
  }

  // PROMOTED -> PROMOTED (a batch of apps moved) ... -> APPS_MOVED (none left): each app whose
  // current version is
  // pinned to an older generation gets one new version on the new generation.
  private Uni<StepResult> moveApps(SqlConnection tx, RotationJob job, long now) {
    int target = job.targetGeneration().orElseThrow();
    return tx.preparedQuery(
            "SELECT s.app_id, s.current_version, s.min_version FROM app_key_state s "
                + "JOIN app_key_version v ON v.app_id = s.app_id AND v.version = s.current_version "
                + "WHERE v.root_generation <> $1 ORDER BY s.app_id LIMIT $2 FOR UPDATE OF s")
        .execute(Tuple.of(target, appBatch))
        .onItem()
        .transformToUni(
            rows -> {
              if (rows.size() == 0) {
                long destroyAt = now + rootGrace.toMillis();
                return tx.preparedQuery(
                        "SELECT destroy_after FROM root_generation WHERE generation = $1")
                    .execute(Tuple.of(job.fromGeneration().orElseThrow()))
                    .map(
                        r ->
                            Optional.ofNullable(r.iterator().next().getLong("destroy_after"))
                                .orElse(destroyAt))
                    .call(
                        at ->
                            audit.append(
                                tx,
                                AuditDraft.allowed(
                                    "ROOT_GENERATION",
                                    null,
                                    AuditDetail.json(
                                        Map.of(
                                            "jobId",
                                            job.jobId().toString(),
                                            "step",
                                            "apps-moved",
                                            "generation",
                                            target)))))
                    .call(at -> transition(tx, job, RotationJob.State.APPS_MOVED, now, at))
                    .map(
                        at ->
                            new StepResult(
                                job.jobId(),
                                job.kind(),
                                job.state(),
                                RotationJob.State.APPS_MOVED,
                                "every app is on generation "
                                    + target
                                    + "; old generation destroyed after "
                                    + at));
              }
              List<org.teekms.keys.AppId> moved = new ArrayList<>();
              Uni<?> chain = Uni.createFrom().voidItem();
              for (Row r : rows) {
                org.teekms.keys.AppId appId =
                    org.teekms.keys.AppId.of(r.getBuffer("app_id").getBytes());
                int next = r.getInteger("current_version") + 1;
                int min = r.getInteger("min_version");
                moved.add(appId);
                chain =
                    chain
                        .chain(() -> AppKeyStateStore.advance(tx, appId, next, min, target, now))
                        .chain(
                            adv ->
                                audit.append(
                                    tx,
                                    AuditDraft.allowed(
                                        "ROTATION",
                                        appId,
                                        AuditDetail.json(
                                            Map.of(
                                                "jobId",
                                                job.jobId().toString(),
                                                "reason",
                                                "root generation rotation",
                                                "toVersion",
                                                next,
                                                "rootGeneration",
                                                target,
                                                "createdVersions",
                                                adv.createdVersions())))));
              }
              return chain
                  .chain(() -> transition(tx, job, RotationJob.State.PROMOTED, now, null))
                  .replaceWith(
                      new StepResult(
                          job.jobId(),
                          job.kind(),
                          job.state(),
                          RotationJob.State.PROMOTED,
                          "moved " + moved.size() + " apps to generation " + target));
            });
  }

  // APPS_MOVED -> DONE, once the grace period is over: erase the old generation's sealed secret.
  private Uni<StepResult> destroyOld(SqlConnection tx, RotationJob job, long now) {
    int from = job.fromGeneration().orElseThrow();
    return tx.preparedQuery(
            "UPDATE root_generation SET state = 'DESTROYED', sealed_secret = NULL, destroyed_at = $2 "
                + "WHERE generation = $1 AND state = 'RETIRED'")
        .execute(Tuple.of(from, now))
        .onItem()
        .transformToUni(
            r -> {
              if (r.rowCount() != 1) {
                return Uni.createFrom()
                    .failure(new RotationAbort("generation " + from + " is not RETIRED"));
              }
              return audit.append(
                  tx,
                  AuditDraft.allowed(
                      "ROOT_GENERATION",
                      null,
                      AuditDetail.json(
                          Map.of(
                              "jobId",
                              job.jobId().toString(),
                              "step",
                              "destroyed",
                              "generation",
                              from))));
            })
        .chain(() -> transition(tx, job, RotationJob.State.DONE, now, null))
        .replaceWith(
            new StepResult(
                job.jobId(),
                job.kind(),
                job.state(),
                RotationJob.State.DONE,
                "generation " + from + " destroyed"));
  }

  private Uni<Void> transition(
      SqlConnection tx, RotationJob job, RotationJob.State to, long now, Long notBefore) {
    hook.beforeCommit(job.jobId(), job.state(), to);
    boolean finished = to == RotationJob.State.DONE || to == RotationJob.State.FAILED;
    return tx.preparedQuery(
            "UPDATE rotation_job SET state = $2, updated_at = $3, last_error = NULL, "
                + "not_before = COALESCE($4, not_before), finished_at = $5 WHERE job_id = $1")
        .execute(Tuple.of(job.jobId(), to.name(), now, notBefore, finished ? now : null))
        .replaceWithVoid();
  }

  private Uni<Void> markFailed(SqlConnection tx, RotationJob job, String why, long now) {
    LOG.errorf("rotation job %s (%s) failed permanently: %s", job.jobId(), job.kind(), why);
    return tx.preparedQuery(
            "UPDATE rotation_job SET state = 'FAILED', last_error = $2, updated_at = $3, finished_at = $3 "
                + "WHERE job_id = $1")
        .execute(Tuple.of(job.jobId(), why, now))
        .replaceWithVoid();
  }

  /**
   * A transient failure rolled the step back: count it and back off (capped at 10 minutes) in a
   * separate write.
   */
  private Uni<Void> recordError(UUID jobId, Throwable error) {
    long now = clock.millis();
    String message = String.valueOf(error.getMessage());
    LOG.warnf("rotation job %s: step failed, will retry: %s", jobId, message);
    return pool.withTransaction(
            tx ->
                tx.preparedQuery(
                        "SELECT attempts FROM rotation_job WHERE job_id = $1 "
                            + "AND finished_at IS NULL FOR UPDATE SKIP LOCKED")
                    .execute(Tuple.of(jobId))
                    .onItem()
                    .transformToUni(
                        rows -> {
                          if (rows.size() == 0) {
                            return Uni.createFrom().voidItem();
                          }
                          int attempts = rows.iterator().next().getInteger("attempts") + 1;
                          long backoff = Math.min(600_000L, 1000L << Math.min(attempts, 10));
                          return tx.preparedQuery(
                                  "UPDATE rotation_job SET attempts = $2, last_error = $3, not_before = $4, "
                                      + "updated_at = $5 WHERE job_id = $1")
                              .execute(
                                  Tuple.of(
                                      jobId,
                                      attempts,
                                      message.length() > 500 ? message.substring(0, 500) : message,
                                      now + backoff,
                                      now))
                              .replaceWithVoid();
                        }))
        .onFailure()
        .invoke(
            e ->
                LOG.warnf(
                    "could not record the failure of rotation job %s: %s", jobId, e.getMessage()))
        .onFailure()
        .recoverWithNull()
        .replaceWithVoid();
  }
}
