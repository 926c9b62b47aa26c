package org.teekms.kms.operator;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.rotation.RotationJob;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;

/**
 * Operator-triggered rotation: authorizes a signed request, then (one transaction) spends its nonce, enqueues the job
 * and audits the grant; a denied request is audited on its own. Also reads a job's progress.
 */
public final class RotationControl {

  /** Audit kind of every operator request, allowed or denied. */
  public static final String AUDIT_KIND = "OPERATOR_REQUEST";

  private final Pool pool;
  private final OperatorAuthorizer authorizer;
  private final RotationJobs jobs;
  private final RootGenerationStore roots;
  private final AuditLog audit;
  private final Clock clock;
  private final Duration timeout;

  public RotationControl(Pool pool, OperatorAuthorizer authorizer, RotationJobs jobs, RootGenerationStore roots,
      AuditLog audit, Clock clock, Duration timeout) {
    this.pool = pool;
    this.authorizer = authorizer;
    this.jobs = jobs;
    this.roots = roots;
    this.audit = audit;
    this.clock = clock;
    this.timeout = timeout;
  }

  /** A job and its progress. {@code signer} is set for the answer to a request. */
  public record JobStatus(RotationJob job, int appsTotal, int appsMoved, Optional<String> signer) {}

  /** What an authorized request enqueues, inside the transaction that spends its nonce; records facts to audit. */
  private interface Enqueue {
    Uni<UUID> into(SqlConnection tx, Map<String, Object> facts);
  }

  /**
   * Enqueues (or finds, if already asked for) the rotation away from the CURRENT root generation.
   *
   * @throws OperatorDenied when the request is not authorized; the denial is audited first
   */
  public JobStatus requestRootRotation(OperatorRequest request) throws OperatorDenied {
    Map<String, Object> facts = facts(request);
    OperatorAuthorizer.Authorized ok = authorized(request, OperatorRequestMessage.ROTATE_ROOT, facts);
    return run(request, ok, null, facts, (tx, f) -> roots.current(tx).chain(current -> {
      if (current.isEmpty()) {
        return Uni.createFrom().failure(new IllegalStateException("no CURRENT root generation (KMS not bootstrapped)"));
      }
      int from = current.get().generation();
      f.put("fromGeneration", from);
      return jobs.enqueueRootRotation(tx, from, "operator " + ok.signer());
    }));
  }

  /**
   * Enqueues an app rotation to the key versions the chain holds for the app at the block the owner was read at.
   *
   * @throws OperatorDenied when the request is not authorized or the app is not registered; audited first
   */
  public JobStatus requestAppRotation(OperatorRequest request) throws OperatorDenied {
    Map<String, Object> facts = facts(request);
    OperatorAuthorizer.Authorized ok = authorized(request, OperatorRequestMessage.SYNC_APP, facts);
    byte[] appId = request.getAppId().toByteArray();
    RegistryOwnerPort.AppVersionsRead v;
    try {
      v = authorizer.appVersions(appId, ok);
    } catch (OperatorDenied d) {
      throw audited(d, facts, appId);
    }
    facts.put("targetVersion", v.current());
    facts.put("targetMinVersion", v.minimum());
    return run(request, ok, appId, facts, (tx, f) -> jobs.enqueueAppRotation(tx, org.teekms.keys.AppId.of(appId), (int) v.current(),
        (int) v.minimum(), "operator " + ok.signer() + " (chain at block " + ok.ownerBlock() + ")"));
  }

  private OperatorAuthorizer.Authorized authorized(OperatorRequest request, String action, Map<String, Object> facts)
      throws OperatorDenied {
    try {
      OperatorAuthorizer.Authorized ok = authorizer.authorize(request, action);
      facts.put("signer", ok.signer());
      facts.put("signatureScheme", ok.scheme().name());
      facts.put("ownerBlock", ok.ownerBlock());
      facts.put("ownerBlockHash", ok.ownerBlockHash());
      return ok;
    } catch (OperatorDenied d) {
      throw audited(d, facts, appIdOf(request));
    }
  }

  private JobStatus run(OperatorRequest request, OperatorAuthorizer.Authorized ok, byte[] appId,
      Map<String, Object> facts, Enqueue enqueue) throws OperatorDenied {
    byte[] nonce = request.getNonce().toByteArray();
    long now = clock.millis();
    UUID jobId = pool.withTransaction(tx -> spendNonce(tx, nonce, request.getAction(), ok.signer(), now)
            .chain(spent -> {
              if (!spent) {
                return Uni.createFrom().item(Optional.<UUID>empty());
              }
              return enqueue.into(tx, facts)
                  .call(id -> {
                    facts.put("jobId", id.toString());
                    return audit.append(tx, AuditDraft.allowed(AUDIT_KIND, appId, AuditDetail.json(facts)));
                  })
                  .map(Optional::of);
            }))
        .await().atMost(timeout)
        .orElse(null);
    if (jobId == null) {
      throw audited(new OperatorDenied(OperatorDenied.Code.REPLAYED,
          "nonce " + HexFormat.of().formatHex(nonce) + " was already used"), facts, appId);
    }
    JobStatus status = status(jobId).orElseThrow();
    return new JobStatus(status.job(), status.appsTotal(), status.appsMoved(), Optional.of(ok.signer()));
  }

  private static byte[] appIdOf(OperatorRequest r) {
    return r.getAppId().size() == 20 ? r.getAppId().toByteArray() : null;
  }

  public Optional<JobStatus> status(UUID jobId) {
    return jobs.get(jobId).chain(job -> {
      if (job.isEmpty()) {
        return Uni.createFrom().item(Optional.<JobStatus>empty());
      }
      if (job.get().kind() == RotationJob.Kind.APP_ROTATION) {
        org.teekms.keys.AppId app = job.get().appId().orElseThrow();
        int targetVersion = job.get().targetVersion().orElseThrow();
        return AppKeyStateStore.read(pool, app).map(state -> Optional.of(new JobStatus(job.get(), 1,
            state.filter(st -> st.currentVersion() >= targetVersion).isPresent() ? 1 : 0, Optional.empty())));
      }
      int target = job.get().targetGeneration().orElse(0);
      return pool.preparedQuery("SELECT count(*) AS total, count(*) FILTER (WHERE v.root_generation = $1) AS moved "
              + "FROM app_key_state s JOIN app_key_version v ON v.app_id = s.app_id AND v.version = s.current_version")
          .execute(Tuple.of(target))
          .map(rows -> {
            Row r = rows.iterator().next();
            return Optional.of(new JobStatus(job.get(), r.getLong("total").intValue(), r.getLong("moved").intValue(),
                Optional.empty()));
          });
    }).await().atMost(timeout);
  }

  /** Inserts the nonce; false if it was spent before. Prunes nonces too old to be accepted anyway. */
  private Uni<Boolean> spendNonce(SqlClient tx, byte[] nonce, String action, String signer, long now) {
    long horizon = now - 2 * authorizer.maxSkew().toMillis();
    return tx.preparedQuery("DELETE FROM operator_request_nonce WHERE received_at < $1").execute(Tuple.of(horizon))
        .chain(() -> tx.preparedQuery("INSERT INTO operator_request_nonce (nonce, action, signer, received_at) "
                + "VALUES ($1, $2, $3, $4) ON CONFLICT (nonce) DO NOTHING")
            .execute(Tuple.tuple().addBuffer(Buffer.buffer(nonce)).addString(action).addString(signer).addLong(now)))
        .map(r -> r.rowCount() == 1);
  }

  private OperatorDenied audited(OperatorDenied d, Map<String, Object> facts, byte[] appId) {
    facts.put("denyCode", d.code().name());
    audit.appendAlone(AuditDraft.denied(AUDIT_KIND, appId, d.getMessage(), AuditDetail.json(facts)))
        .await().atMost(timeout);
    return d;
  }

  /** What the request claimed, for the audit entry (the signature itself is not needed to reproduce the decision). */
  private static Map<String, Object> facts(OperatorRequest r) {
    Map<String, Object> f = new TreeMap<>();
    f.put("action", clip(r.getAction()));
    f.put("kmsId", clip(r.getKmsId()));
    f.put("chainId", Long.toUnsignedString(r.getChainId()));
    f.put("registry", clip(r.getRegistry()));
    f.put("timestamp", r.getTimestampMillis());
    if (!r.getAppId().isEmpty()) {
      f.put("appId", HexFormat.of().formatHex(r.getAppId().toByteArray(), 0, Math.min(32, r.getAppId().size())));
    }
    f.put("nonce", HexFormat.of().formatHex(r.getNonce().toByteArray(), 0, Math.min(64, r.getNonce().size())));
    return f;
  }

  private static String clip(String s) {
    return s.length() > 128 ? s.substring(0, 128) + "…" : s;
  }
}
