package org.teekms.kms.grpc;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.security.cert.CertificateEncodingException;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.teekms.kms.custody.NodeRecovery;
import org.teekms.kms.wiring.RecoveryHolder;
import org.teekms.proto.BadShare;
import org.teekms.proto.GetRecoveryStatusRequest;
import org.teekms.proto.RecoveryGrpc;
import org.teekms.proto.RecoveryStatus;
import org.teekms.proto.SubmitShareRequest;

/**
 * teekms.v1.Recovery: decode, call {@link NodeRecovery} (the checks are there), encode. Needs no
 * client certificate (custodians are not TEEs; each share is authenticated by its custodian's
 * signature instead) and is rate limited like the other unauthenticated services. Submissions run
 * on the worker pool (chain reads).
 */
@GrpcService
public class RecoveryService extends RecoveryGrpc.RecoveryImplBase {

  private static final Logger LOG = Logger.getLogger(RecoveryService.class);

  private final RecoveryHolder holder;

  public RecoveryService(RecoveryHolder holder) {
    this.holder = holder;
  }

  @Override
  public void getRecoveryStatus(
      GetRecoveryStatusRequest request, StreamObserver<RecoveryStatus> out) {
    out.onNext(status(holder.current()));
    out.onCompleted();
  }

  @Override
  public void submitShare(SubmitShareRequest request, StreamObserver<RecoveryStatus> out) {
    Optional<NodeRecovery> recovery = holder.current();
    if (recovery.isEmpty()) {
      out.onError(
          refusal(
              Status.FAILED_PRECONDITION,
              NodeRecovery.Refusal.NOT_RECOVERING,
              "this node recovers no "
                  + "root generation (teekms.custody.recover-generation is unset, or its database already holds roots)"));
      return;
    }
    Infrastructure.getDefaultWorkerPool()
        .execute(
            () -> {
              try {
                recovery
                    .get()
                    .submit(
                        request.getRequestId().toByteArray(),
                        request.getIndex(),
                        request.getEnvelope().toByteArray(),
                        request.getSignature().toByteArray());
                out.onNext(status(recovery));
                out.onCompleted();
              } catch (NodeRecovery.Refused r) {
                LOG.infof(
                    "recovery share %d refused: %s: %s",
                    request.getIndex(), r.code(), r.getMessage());
                out.onError(refusal(code(r.code()), r.code(), r.getMessage()));
              } catch (RuntimeException e) {
                LOG.errorf(e, "SubmitShare failed");
                out.onError(GrpcErrors.internal("SubmitShare", e));
              }
            });
  }

  static Status code(NodeRecovery.Refusal r) {
    return switch (r) {
      case MALFORMED -> Status.INVALID_ARGUMENT;
      case NOT_RECOVERING, NO_SUCH_SHARE -> Status.FAILED_PRECONDITION;
      case CHAIN_UNAVAILABLE -> Status.UNAVAILABLE;
      case SENDER_NOT_CUSTODIAN, RECOVERY_NOT_AUTHORIZED, SHARE_INVALID -> Status.PERMISSION_DENIED;
    };
  }

  private static io.grpc.StatusRuntimeException refusal(
      Status status, NodeRecovery.Refusal code, String detail) {
    Metadata trailers = new Metadata();
    trailers.put(GrpcErrors.DENY_REASON, code.name());
    return status.withDescription(code.name() + ": " + detail).asRuntimeException(trailers);
  }

  static RecoveryStatus status(Optional<NodeRecovery> recovery) {
    if (recovery.isEmpty()) {
      return RecoveryStatus.newBuilder()
          .setState("NOT_RECOVERING")
          .setDetail("this node recovers no root generation")
          .build();
    }
    NodeRecovery r = recovery.get();
    NodeRecovery.Progress p = r.progress();
    RecoveryStatus.Builder b =
        RecoveryStatus.newBuilder()
            .setState(p.state().name())
            .setGeneration(p.generation())
            .setNodeKeyId(ByteString.copyFrom(r.nodeKeyId()))
            .setThreshold(p.threshold())
            .addAllValidIndices(p.validIndices())
            .setDetail(p.detail());
    try {
      b.setNodeCertificate(ByteString.copyFrom(r.nodeCertificate().getEncoded()));
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("the node certificate does not encode", e);
    }
    p.requestId()
        .ifPresent(
            id ->
                b.setRequestId(
                    ByteString.copyFrom(java.util.HexFormat.of().parseHex(id.substring(2)))));
    p.badShares()
        .forEach(
            s -> b.addBadShares(BadShare.newBuilder().setIndex(s.index()).setReason(s.reason())));
    return b.build();
  }
}
