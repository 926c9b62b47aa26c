package org.teekms.kms.operator;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.hibernate.reactive.mutiny.Mutiny;
import org.teekms.keys.AppId;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.rotation.RotationJob;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;

/**
 * Operator-triggered rotation: authorizes a signed request, then (one transaction) spends its
 * nonce, enqueues the job and audits the grant; a denied request is audited on its own. Also reads
 * a job's progress. Non-blocking: the answers arrive through Unis; refusals fail them with {@link
 * OperatorDenied}.
 */
public final class RotationControl {

  /** Audit kind of every operator request, allowed or denied. */
  public static final String AUDIT_KIND = "OPERATOR_REQUEST";

  private final StateSessions sessions;
  private final OperatorAuthorizer authorizer;
  private final RotationJobs jobs;
  private final RootGenerationStore roots;
  private final AuditLog audit;
  private final Clock clock;
  private final Duration timeout;

  public RotationControl(
      StateSessions sessions,
      OperatorAuthorizer authorizer,
      RotationJobs jobs,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock,
      Duration timeout) {
    this.sessions = sessions;
    this.authorizer = authorizer;
    this.jobs = jobs;
    this.roots = roots;
    this.audit = audit;
    this.clock = clock;
    this.timeout = timeout;
  }

  /** A job and its progress. {@code signer} is set for the answer to a request. */
  public record JobStatus(RotationJob job, int appsTotal, int appsMoved, Optional<String> signer) {}

  /**
   * What an authorized request enqueues, inside the transaction that spends its nonce; records
   * facts to audit.
   */
  private interface Enqueue {
    Uni<UUID> into(Mutiny.Session tx, Map<String, Object> facts);
  }

  /** A refusal on its way to the audit log, with the app id it is filed under. */
  private static final class Refused extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient OperatorDenied denied;
    private final transient AppId appId;

    Refused(OperatorDenied denied, AppId appId) {
      super(denied.getMessage(), null, false, false);
      this.denied = denied;
      this.appId = appId;
    }
  }

  /** A blocking step (chain reads) on the worker pool; its refusal is filed under {@code appId}. */
  private interface Step<T> {
    T run() throws OperatorDenied;
  }

  private static <T> Uni<T> onWorker(Step<T> step, AppId appId) {
    return Uni.createFrom()
        .item(
            () -> {
              try {
                return step.run();
              } catch (OperatorDenied d) {
                throw new Refused(d, appId);
              }
            })
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
  }

  /**
   * Enqueues (or finds, if already asked for) the rotation away from the CURRENT root generation.
   * Non-blocking: the authorization (chain reads) runs on the worker pool, the database steps are
   * reactive.
   *
   * @return the job, or a failure with {@link OperatorDenied} when the request is not authorized
   *     (audited first)
   */
  public Uni<JobStatus> requestRootRotation(OperatorRequest request) {
    Map<String, Object> facts = facts(request);
    return audited(
        facts,
        onWorker(
                () -> authorized(request, OperatorRequestMessage.ROTATE_ROOT, facts),
                appIdOf(request))
            .chain(
                ok ->
                    run(
                        request,
                        ok,
                        null,
                        facts,
                        (tx, f) ->
                            roots
                                .current(tx)
                                .chain(
                                    current -> {
                                      if (current.isEmpty()) {
                                        return Uni.createFrom()
                                            .failure(
                                                new IllegalStateException(
                                                    "no CURRENT root generation (KMS not bootstrapped)"));
                                      }
                                      int from = current.get().generation();
                                      f.put("fromGeneration", from);
                                      return jobs.enqueueRootRotation(
                                          tx, from, "operator " + ok.signer());
                                    }))));
  }

  /**
   * Enqueues an app rotation to the key versions the chain holds for the app at the block the owner
   * was read at.
   *
   * @return the job, or a failure with {@link OperatorDenied} when the request is not authorized or
   *     the app is not registered (audited first)
   */
  public Uni<JobStatus> requestAppRotation(OperatorRequest request) {
    Map<String, Object> facts = facts(request);
    AppId app = appIdOf(request);
    return audited(
        facts,
        onWorker(() -> authorized(request, OperatorRequestMessage.SYNC_APP, facts), app)
            .chain(
                ok ->
                    onWorker(() -> authorizer.appVersions(app, ok), app)
                        .chain(
                            v -> {
                              facts.put("targetVersion", v.current());
                              facts.put("targetMinVersion", v.minimum());
                              return run(
                                  request,
                                  ok,
                                  app,
                                  facts,
                                  (tx, f) ->
                                      jobs.enqueueAppRotation(
                                          tx,
                                          app,
                                          (int) v.current(),
                                          (int) v.minimum(),
                                          "operator "
                                              + ok.signer()
                                              + " (chain at block "
                                              + ok.ownerBlock()
                                              + ")"));
                            })));
  }

  private OperatorAuthorizer.Authorized authorized(
      OperatorRequest request, String action, Map<String, Object> facts) throws OperatorDenied {
    OperatorAuthorizer.Authorized ok = authorizer.authorize(request, action);
    facts.put("signer", ok.signer());
    facts.put("signatureScheme", ok.scheme().name());
    facts.put("ownerBlock", ok.ownerBlock());
    facts.put("ownerBlockHash", ok.ownerBlockHash());
    return ok;
  }

  private Uni<JobStatus> run(
      OperatorRequest request,
      OperatorAuthorizer.Authorized ok,
      AppId appId,
      Map<String, Object> facts,
      Enqueue enqueue) {
    byte[] nonce = request.getNonce().toByteArray();
    long now = clock.millis();
    return sessions
        .inTransaction(
            tx ->
                spendNonce(tx, nonce, request.getAction(), ok.signer(), now)
                    .chain(
                        spent -> {
                          if (!spent) {
                            return Uni.createFrom().item(Optional.<UUID>empty());
                          }
                          return enqueue
                              .into(tx, facts)
                              .call(
                                  id -> {
                                    facts.put("jobId", id.toString());
                                    return audit.append(
                                        tx,
                                        AuditDraft.allowed(
                                            AUDIT_KIND, appId, AuditDetail.json(facts)));
                                  })
                              .map(Optional::of);
                        }))
        .ifNoItem()
        .after(timeout)
        .fail()
        .chain(
            jobId -> {
              if (jobId.isEmpty()) {
                return Uni.createFrom()
                    .<JobStatus>failure(
                        new Refused(
                            new OperatorDenied(
                                OperatorDenied.Code.REPLAYED,
                                "nonce " + HexFormat.of().formatHex(nonce) + " was already used"),
                            appId));
              }
              return status(jobId.get())
                  .map(
                      status ->
                          new JobStatus(
                              status.orElseThrow().job(),
                              status.get().appsTotal(),
                              status.get().appsMoved(),
                              Optional.of(ok.signer())));
            });
  }

  /** The request's app id, or null when it names none (not 20 bytes). */
  private static AppId appIdOf(OperatorRequest r) {
    return r.getAppId().size() == AppId.LENGTH ? AppId.of(r.getAppId().toByteArray()) : null;
  }

  public Uni<Optional<JobStatus>> status(UUID jobId) {
    return jobs.get(jobId)
        .chain(
            job -> {
              if (job.isEmpty()) {
                return Uni.createFrom().item(Optional.<JobStatus>empty());
              }
              if (job.get().kind() == RotationJob.Kind.APP_ROTATION) {
                org.teekms.keys.AppId app = job.get().appId().orElseThrow();
                int targetVersion = job.get().targetVersion().orElseThrow();
                return AppKeyStateStore.read(sessions, app)
                    .map(
                        state ->
                            Optional.of(
                                new JobStatus(
                                    job.get(),
                                    1,
                                    state
                                            .filter(st -> st.currentVersion() >= targetVersion)
                                            .isPresent()
                                        ? 1
                                        : 0,
                                    Optional.empty())));
              }
              int target = job.get().targetGeneration().orElse(0);
              return AppKeyStateStore.progress(sessions, target)
                  .map(
                      p ->
                          Optional.of(
                              new JobStatus(
                                  job.get(), p.total(), p.onGeneration(), Optional.empty())));
            })
        .ifNoItem()
        .after(timeout)
        .fail();
  }

  /**
   * Inserts the nonce; false if it was spent before. Prunes nonces too old to be accepted anyway.
   */
  private Uni<Boolean> spendNonce(
      Mutiny.Session tx, byte[] nonce, String action, String signer, long now) {
    long horizon = now - 2 * authorizer.maxSkew().toMillis();
    // Explicit SQL: a nonce is spent by the insert that wins (ON CONFLICT), concurrent requests
    // included.
    return tx.createNativeQuery("DELETE FROM operator_request_nonce WHERE received_at < ?1")
        .setParameter(1, horizon)
        .executeUpdate()
        .chain(
            () ->
                tx.createNativeQuery(
                        "INSERT INTO operator_request_nonce (nonce, action, signer, received_at) "
                            + "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (nonce) DO NOTHING")
                    .setParameter(1, nonce)
                    .setParameter(2, action)
                    .setParameter(3, signer)
                    .setParameter(4, now)
                    .executeUpdate())
        .map(inserted -> inserted == 1);
  }

  /**
   * Audits a refusal of {@code work} (the denial is written before the caller hears of it), then
   * fails with it.
   */
  private Uni<JobStatus> audited(Map<String, Object> facts, Uni<JobStatus> work) {
    return work.onFailure(Refused.class)
        .recoverWithUni(
            failure -> {
              Refused r = (Refused) failure;
              facts.put("denyCode", r.denied.code().name());
              return audit
                  .appendAlone(
                      AuditDraft.denied(
                          AUDIT_KIND, r.appId, r.denied.getMessage(), AuditDetail.json(facts)))
                  .ifNoItem()
                  .after(timeout)
                  .fail()
                  .chain(() -> Uni.createFrom().<JobStatus>failure(r.denied));
            });
  }

  /**
   * What the request claimed, for the audit entry (the signature itself is not needed to reproduce
   * the decision).
   */
  private static Map<String, Object> facts(OperatorRequest r) {
    Map<String, Object> f = new TreeMap<>();
    f.put("action", clip(r.getAction()));
    f.put("kmsId", clip(r.getKmsId()));
    f.put("chainId", Long.toUnsignedString(r.getChainId()));
    f.put("registry", clip(r.getRegistry()));
    f.put("timestamp", r.getTimestampMillis());
    if (!r.getAppId().isEmpty()) {
      f.put(
          "appId",
          HexFormat.of()
              .formatHex(r.getAppId().toByteArray(), 0, Math.min(32, r.getAppId().size())));
    }
    f.put(
        "nonce",
        HexFormat.of().formatHex(r.getNonce().toByteArray(), 0, Math.min(64, r.getNonce().size())));
    return f;
  }

  private static String clip(String s) {
    return s.length() > 128 ? s.substring(0, 128) + "…" : s;
  }
}
