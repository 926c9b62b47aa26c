package org.teekms.kms.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Pool;
import java.time.Clock;
import java.util.HexFormat;
import org.jboss.logging.Logger;
import org.teekms.keys.AppId;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.keystate.RotationSchedule;
import org.teekms.kms.keystate.RotationScheduleReader;
import org.teekms.kms.metrics.RotationDueMetrics;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.wiring.KmsConfig;
import org.teekms.proto.AuditEvent;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.EffectivePolicy;
import org.teekms.proto.GetEffectivePolicyRequest;
import org.teekms.proto.ListAuditEventsRequest;
import org.teekms.proto.ListAuditEventsResponse;
import org.teekms.proto.PolicyBlock;
import org.teekms.proto.RotationJobInfo;
import org.teekms.proto.VerifyAuditChainRequest;
import org.teekms.proto.VerifyAuditChainResponse;

/**
 * teekms.v1.Auditor: read-only views of key-version state, grants and the audit chain. Never key
 * material. Non-blocking: database reads are reactive; the rotation schedule (read from the chain
 * over HTTP) on a worker.
 */
@GrpcService
public class AuditorService extends AuditorGrpc.AuditorImplBase {

  private static final Logger LOG = Logger.getLogger(AuditorService.class);

  private final Pool pool;
  private final StateSessions sessions;
  private final AuditLog audit;
  private final RotationJobs jobs;
  private final KmsConfig config;
  private final Clock clock;
  private final RotationScheduleReader schedules;
  private final RotationDueMetrics dueMetrics;
  private final org.teekms.kms.audit.AuditChainVerifier chainVerifier;

  public AuditorService(
      Pool pool,
      StateSessions sessions,
      AuditLog audit,
      RotationJobs jobs,
      KmsConfig config,
      Clock clock,
      RotationScheduleReader schedules,
      RotationDueMetrics dueMetrics,
      org.teekms.kms.audit.AuditChainVerifier chainVerifier) {
    this.chainVerifier = chainVerifier;
    this.pool = pool;
    this.sessions = sessions;
    this.audit = audit;
    this.jobs = jobs;
    this.config = config;
    this.clock = clock;
    this.schedules = schedules;
    this.dueMetrics = dueMetrics;
  }

  @Override
  public void getEffectivePolicy(
      GetEffectivePolicyRequest request, StreamObserver<EffectivePolicy> out) {
    if (request.getAppId().size() != AppId.LENGTH) {
      out.onError(GrpcErrors.invalid("app_id must be 20 bytes"));
      return;
    }
    AppId appId = AppId.of(request.getAppId().toByteArray());
    int recent = request.getRecentGrants() == 0 ? 10 : request.getRecentGrants();
    if (recent > 100) {
      out.onError(GrpcErrors.invalid("recent_grants must be at most 100"));
      return;
    }
    EffectivePolicy.Builder b = EffectivePolicy.newBuilder().setAppId(request.getAppId());
    Uni<EffectivePolicy> answer =
        AppKeyStateStore.read(sessions, appId)
            .invoke(
                state -> {
                  b.setKnown(state.isPresent());
                  state.ifPresent(
                      s ->
                          b.setCurrentVersion(s.currentVersion())
                              .setMinVersion(s.minVersion())
                              .setLastRotatedAt(s.lastRotatedAt()));
                })
            .chain(
                () ->
                    org.teekms.kms.db.PoolQueries.preparedQuery(
                        pool,
                        "SELECT * FROM (SELECT * FROM audit_log WHERE app_id = $1 AND kind LIKE 'GRANT_%' "
                            + "ORDER BY seq DESC LIMIT $2) g ORDER BY seq DESC",
                        io.vertx.mutiny.sqlclient.Tuple.tuple()
                            .addBuffer(io.vertx.mutiny.core.buffer.Buffer.buffer(appId.toBytes()))
                            .addInteger(recent)))
            .invoke(rows -> rows.forEach(r -> b.addRecentGrants(encode(AuditLog.read(r)))))
            .chain(() -> jobs.unfinished(appId))
            .invoke(
                unfinished ->
                    unfinished.forEach(
                        j ->
                            b.addRotationJobs(
                                RotationJobInfo.newBuilder()
                                    .setJobId(j.jobId().toString())
                                    .setKind(j.kind().name())
                                    .setState(j.state().name())
                                    .setCreatedAt(j.createdAt())
                                    .setUpdatedAt(j.updatedAt()))))
            // Live from the chain (the KMS stores no schedule): an unreadable chain is reported,
            // not guessed.
            .emitOn(Infrastructure.getDefaultWorkerPool())
            .map(
                ignored -> {
                  long ticket = dueMetrics.readStarting();
                  RotationSchedule s = schedules.read(appId);
                  // A gauge only for an app this KMS serves (key state) or the chain registers (its
                  // schedule was read): any
                  // caller may name any app id, and each gauge is a time series kept for the
                  // process's lifetime.
                  if (b.getKnown() || s.read()) {
                    dueMetrics.record(appId, s, ticket);
                  }
                  return b.setRotationSchedule(encode(s)).build();
                });
    UniAnswer.answer("GetEffectivePolicy", answer, config.dbTimeout().multipliedBy(3), out, LOG);
  }

  @Override
  public void listAuditEvents(
      ListAuditEventsRequest request, StreamObserver<ListAuditEventsResponse> out) {
    if (!request.getAppId().isEmpty() && request.getAppId().size() != AppId.LENGTH) {
      out.onError(GrpcErrors.invalid("app_id must be 20 bytes or empty"));
      return;
    }
    AppId appId = request.getAppId().isEmpty() ? null : AppId.of(request.getAppId().toByteArray());
    int size = request.getPageSize() == 0 ? 100 : request.getPageSize();
    if (size > 1000 || request.getFromTime() < 0 || request.getToTime() < 0) {
      out.onError(GrpcErrors.invalid("page_size must be 1..1000 and times non-negative"));
      return;
    }
    long to = request.getToTime() == 0 ? clock.millis() + 1 : request.getToTime();
    UniAnswer.answer(
        "ListAuditEvents",
        audit
            .list(appId, request.getFromTime(), to, request.getAfterSeq(), size)
            .map(
                page -> {
                  ListAuditEventsResponse.Builder b = ListAuditEventsResponse.newBuilder();
                  page.forEach(e -> b.addEvents(encode(e)));
                  return b.setNextAfterSeq(
                          page.size() == size ? page.get(page.size() - 1).seq() : 0)
                      .build();
                }),
        config.dbTimeout(),
        out,
        LOG);
  }

  @Override
  public void verifyAuditChain(
      VerifyAuditChainRequest request, StreamObserver<VerifyAuditChainResponse> out) {
    UniAnswer.answer(
        "VerifyAuditChain",
        chainVerifier
            .verify()
            .map(
                v ->
                    VerifyAuditChainResponse.newBuilder()
                        .setValid(v.valid())
                        .setEntriesChecked(v.entriesChecked())
                        .setHeadHash(ByteString.copyFrom(v.headHash().toByteArray()))
                        .setFirstBadSeq(v.firstBadSeq())
                        .setProblem(v.problem())
                        .build()),
        config.dbTimeout().multipliedBy(30),
        out,
        LOG);
  }

  static org.teekms.proto.RotationSchedule encode(RotationSchedule s) {
    org.teekms.proto.RotationSchedule.Builder b = org.teekms.proto.RotationSchedule.newBuilder();
    if (!s.read()) {
      return b.setError(s.failure()).build();
    }
    return b.setRotationDue(s.due())
        .setRotationPeriodSeconds(s.periodSeconds())
        .setLastRotation(s.lastRotationEpochSeconds())
        .setBlock(
            PolicyBlock.newBuilder()
                .setChainId(s.chainId())
                .setNumber(s.blockNumber())
                .setHash(ByteString.copyFrom(HexFormat.of().parseHex(s.blockHash().substring(2)))))
        .build();
  }

  static AuditEvent encode(AuditEntry e) {
    return AuditEvent.newBuilder()
        .setSeq(e.seq())
        .setEventId(e.eventId().toString())
        .setTime(e.eventTimeMillis())
        .setKind(e.kind())
        .setAppId(ByteString.copyFrom(e.appId().toByteArray()))
        .setOutcome(e.outcome().name())
        .setReason(e.reason())
        .setDetailJson(e.detailJson())
        .setPrevHash(ByteString.copyFrom(e.prevHash().toByteArray()))
        .setEntryHash(ByteString.copyFrom(e.entryHash().toByteArray()))
        .build();
  }
}
