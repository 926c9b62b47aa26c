package org.teekms.kms.rotation;

import io.smallrye.mutiny.Uni;
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
import org.hibernate.reactive.mutiny.Mutiny;
import org.jboss.logging.Logger;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.custody.BackupMismatch;
import org.teekms.kms.custody.RootBackups;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootSecrets;
import org.teekms.kms.roots.RootState;

/**
 * Runs rotation jobs one step at a time. Each step is ONE transaction of ONE Hibernate Reactive
 * session that (1) claims the job row with {@code FOR UPDATE SKIP LOCKED} (explicit SQL returning
 * the managed {@link RotationJobRecord}: HQL cannot skip locked rows), (2) re-reads its state, (3)
 * applies that state's effect, its audit entry and the transition together. Hence:
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
 * nobody has seen.
 *
 * <p>The argument rests on one thing: all of a step is in ONE transaction on ONE connection, the
 * session opened for that step ({@link StateSessions#inTransaction}, never one taken from a
 * caller's context): the claim, the effect (key versions, root generations and sealed copies, the
 * backup record, all through that session), its audit entry ({@link AuditLog#append(Mutiny.Session,
 * org.teekms.kms.audit.AuditDraft)}: explicit SQL in this transaction, never the group commit,
 * whose entries commit in transactions of their own) and the transition (the claimed entity,
 * written by the flush at commit). Every effect is flushed before the next statement that depends
 * on it (a generation leaves CURRENT before another becomes CURRENT: one CURRENT row at most);
 * nothing is written outside the transaction except the share store's staging folder (above) and
 * the error count of a failed step, which {@link #recordError} writes in a transaction of its own
 * after the step's rolled back. The stores never open a session of their own when handed one, so
 * nothing of a step commits early.
 */
public final class RotationWorker {

  private static final Logger LOG = Logger.getLogger(RotationWorker.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final StateSessions sessions;
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
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock,
      Duration rootGrace,
      int appBatch,
      StepHook hook) {
    this(sessions, roots, audit, clock, rootGrace, appBatch, hook, null, Duration.ofSeconds(30));
  }

  /**
   * @param custody backs up each new generation before it is promoted; null = no custody
   * @param publicationRecheck how long a rotation waiting for its backup's on-chain publication
   *     waits between checks
   */
  public RotationWorker(
      StateSessions sessions,
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
    this.sessions = sessions;
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
    return sessions
        .inTransaction(
            tx ->
                tx.createNativeQuery(
                        "SELECT * FROM rotation_job WHERE finished_at IS NULL "
                            + "AND not_before <= ?1 ORDER BY created_at, job_id LIMIT 1 FOR UPDATE SKIP LOCKED",
                        RotationJobRecord.class)
                    .setParameter(1, now)
                    .getResultList()
                    .onItem()
                    .transformToUni(
                        rows -> {
                          if (rows.isEmpty()) {
                            return Uni.createFrom().item(Optional.<Claimed>empty());
                          }
                          RotationJobRecord jobRow = rows.get(0);
                          RotationJob job = jobRow.toJob();
                          claimedId.set(job.jobId());
                          return step(tx, jobRow, job, now)
                              .map(r -> Optional.of(new Claimed(jobRow, job, r, null)))
                              .onFailure(RotationAbort.class)
                              .recoverWithItem(e -> Optional.of(new Claimed(jobRow, job, null, e)));
                        })
                    .call(
                        claimed ->
                            claimed
                                .filter(c -> c.abort != null)
                                .map(c -> markFailed(c.jobRow, c.job, c.abort.getMessage(), now))
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

  private record Claimed(
      RotationJobRecord jobRow, RotationJob job, StepResult result, Throwable abort) {}

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

  private Uni<StepResult> step(
      Mutiny.Session tx, RotationJobRecord jobRow, RotationJob job, long now) {
    return switch (job.kind()) {
      case APP_ROTATION -> appRotation(tx, jobRow, job, now);
      case ROOT_ROTATION ->
          switch (job.state()) {
            case PENDING -> generate(tx, jobRow, job, now);
            case GENERATED ->
                custody == null ? promote(tx, jobRow, job, now) : stageBackup(tx, jobRow, job, now);
            case BACKED_UP ->
                custody == null
                    ? promote(tx, jobRow, job, now)
                    : promoteBackedUp(tx, jobRow, job, now);
            case PROMOTED -> moveApps(tx, jobRow, job, now);
            case APPS_MOVED -> destroyOld(tx, jobRow, job, now);
            default ->
                Uni.createFrom().failure(new RotationAbort("unexpected state " + job.state()));
          };
    };
  }

  // APP_ROTATION, PENDING -> DONE: create the missing versions on the current generation, raise the
  // minimum.
  private Uni<StepResult> appRotation(
      Mutiny.Session tx, RotationJobRecord jobRow, RotationJob job, long now) {
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
                            .chain(() -> transition(jobRow, job, RotationJob.State.DONE, now, null))
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
  private Uni<StepResult> generate(
      Mutiny.Session tx, RotationJobRecord jobRow, RotationJob job, long now) {
    return roots
        .list(tx)
        .onItem()
        .transformToUni(
            generations -> {
              int max = 0;
              Integer current = null;
              for (RootGeneration g : generations) {
                max = Math.max(max, g.generation());
                if (g.state() == RootState.CURRENT) {
                  current = g.generation();
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
                  .invoke(
                      () -> {
                        jobRow.generations(from, target);
                      })
                  .chain(() -> transition(jobRow, job, RotationJob.State.GENERATED, now, null))
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
  private Uni<StepResult> stageBackup(
      Mutiny.Session tx, RotationJobRecord jobRow, RotationJob job, long now) {
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
                                        org.teekms.crypto.Digests.sha256(
                                            record.commitments().toByteArray())))))))
        .call(record -> transition(jobRow, job, RotationJob.State.BACKED_UP, now, null))
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
  private Uni<StepResult> promoteBackedUp(
      Mutiny.Session tx, RotationJobRecord jobRow, RotationJob job, long now) {
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
                jobRow.waitUntil(now + publicationRecheck.toMillis(), why, now);
                return Uni.createFrom()
                    .item(new StepResult(job.jobId(), job.kind(), job.state(), job.state(), why));
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
                  .chain(() -> promote(tx, jobRow, job, now));
            });
  }

  // GENERATED -> PROMOTED: the new generation becomes CURRENT, the old one RETIRED with its
  // destruction date.
  private Uni<StepResult> promote(
      Mutiny.Session tx, RotationJobRecord jobRow, RotationJob job, long now) {
    int from = job.fromGeneration().orElseThrow();
    int target = job.targetGeneration().orElseThrow();
    long destroyAfter = now + rootGrace.toMillis();
    // The old generation's retirement is flushed before the new one becomes CURRENT (one CURRENT
    // row at most, checked per statement).
    return roots
        .retire(tx, from, now, destroyAfter)
        .onItem()
        .transformToUni(
            retired -> {
              if (!retired) {
                return Uni.createFrom()
                    .failure(new RotationAbort("generation " + from + " is no longer CURRENT"));
              }
              return roots.makeCurrent(tx, target);
            })
        .onItem()
        .transformToUni(
            current -> {
              if (!current) {
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
        .chain(() -> transition(jobRow, job, RotationJob.State.PROMOTED, now, null))
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
  private Uni<StepResult> moveApps(
      Mutiny.Session tx, RotationJobRecord jobRow, RotationJob job, long now) {
    int target = job.targetGeneration().orElseThrow();
    return AppKeyStateStore.lockAppsNotOn(tx, target, appBatch)
        .onItem()
        .transformToUni(
            rows -> {
              if (rows.isEmpty()) {
                long destroyAt = now + rootGrace.toMillis();
                int from = job.fromGeneration().orElseThrow();
                return roots
                    .lock(tx, from)
                    .map(
                        g ->
                            g.orElseThrow(
                                    () ->
                                        new IllegalStateException(
                                            "root generation " + from + " does not exist"))
                                .destroyAfter()
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
                    .call(at -> transition(jobRow, job, RotationJob.State.APPS_MOVED, now, at))
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
              for (AppKeyStateStore.Behind r : rows) {
                org.teekms.keys.AppId appId = r.appId();
                int next = r.currentVersion() + 1;
                int min = r.minVersion();
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
                  .chain(() -> transition(jobRow, job, RotationJob.State.PROMOTED, now, null))
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
  private Uni<StepResult> destroyOld(
      Mutiny.Session tx, RotationJobRecord jobRow, RotationJob job, long now) {
    int from = job.fromGeneration().orElseThrow();
    return roots
        .destroy(tx, from, now)
        .onItem()
        .transformToUni(
            destroyed -> {
              if (!destroyed) {
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
        .chain(() -> transition(jobRow, job, RotationJob.State.DONE, now, null))
        .replaceWith(
            new StepResult(
                job.jobId(),
                job.kind(),
                job.state(),
                RotationJob.State.DONE,
                "generation " + from + " destroyed"));
  }

  /**
   * The step's transition, on the claimed (managed) row: written by the flush at commit, with the
   * step's effect and audit entry.
   */
  private Uni<Void> transition(
      RotationJobRecord jobRow, RotationJob job, RotationJob.State to, long now, Long notBefore) {
    hook.beforeCommit(job.jobId(), job.state(), to);
    jobRow.transition(to, now, notBefore);
    return Uni.createFrom().voidItem();
  }

  private Uni<Void> markFailed(RotationJobRecord jobRow, RotationJob job, String why, long now) {
    LOG.errorf("rotation job %s (%s) failed permanently: %s", job.jobId(), job.kind(), why);
    jobRow.fail(why, now);
    return Uni.createFrom().voidItem();
  }

  /**
   * A transient failure rolled the step back: count it and back off (capped at 10 minutes) in a
   * separate write.
   */
  private Uni<Void> recordError(UUID jobId, Throwable error) {
    long now = clock.millis();
    String message = String.valueOf(error.getMessage());
    LOG.warnf("rotation job %s: step failed, will retry: %s", jobId, message);
    return sessions
        .inTransaction(
            tx ->
                tx.createNativeQuery(
                        "SELECT * FROM rotation_job WHERE job_id = ?1 "
                            + "AND finished_at IS NULL FOR UPDATE SKIP LOCKED",
                        RotationJobRecord.class)
                    .setParameter(1, jobId)
                    .getResultList()
                    .invoke(
                        rows -> {
                          if (rows.isEmpty()) {
                            return;
                          }
                          rows.get(0).countError(message, now);
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
