package org.teekms.kms.grpc;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;
import java.util.UUID;
import org.jboss.logging.Logger;
import org.teekms.kms.operator.OperatorDenied;
import org.teekms.kms.operator.RotationControl;
import org.teekms.kms.rotation.RotationJob;
import org.teekms.proto.GetRotationJobRequest;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.RotationGrpc;
import org.teekms.proto.RotationJobStatus;

/**
 * teekms.v1.Rotation: owner-signed root rotation requests and job progress (kms-server/README.md).
 * Non-blocking: each call answers when {@link RotationControl}'s Uni completes.
 */
@GrpcService
public class RotationService extends RotationGrpc.RotationImplBase {

  private static final Logger LOG = Logger.getLogger(RotationService.class);

  private final RotationControl control;

  public RotationService(RotationControl control) {
    this.control = control;
  }

  @Override
  public void requestRootRotation(OperatorRequest request, StreamObserver<RotationJobStatus> out) {
    operatorCall("RequestRootRotation", "root rotation", control.requestRootRotation(request), out);
  }

  @Override
  public void requestAppRotation(OperatorRequest request, StreamObserver<RotationJobStatus> out) {
    operatorCall("RequestAppRotation", "app rotation", control.requestAppRotation(request), out);
  }

  /**
   * An operator request: the job it started, or a precise denial (PERMISSION_DENIED / UNAVAILABLE).
   */
  private void operatorCall(
      String rpc,
      String what,
      Uni<RotationControl.JobStatus> action,
      StreamObserver<RotationJobStatus> out) {
    action
        .subscribe()
        .with(
            s -> {
              LOG.infof(
                  "%s requested by %s: job %s", what, s.signer().orElse("?"), s.job().jobId());
              out.onNext(encode(s));
              out.onCompleted();
            },
            failure -> {
              if (failure instanceof OperatorDenied d) {
                LOG.warnf("operator request denied: %s", d.getMessage());
                out.onError(denied(d));
              } else {
                LOG.errorf(failure, "%s failed", rpc);
                out.onError(GrpcErrors.internal(rpc, failure));
              }
            });
  }

  @Override
  public void getRotationJob(GetRotationJobRequest request, StreamObserver<RotationJobStatus> out) {
    UUID id;
    try {
      id = UUID.fromString(request.getJobId());
    } catch (IllegalArgumentException e) {
      out.onError(GrpcErrors.invalid("job_id must be a UUID"));
      return;
    }
    control
        .status(id)
        .subscribe()
        .with(
            s -> {
              if (s.isEmpty()) {
                out.onError(
                    Status.NOT_FOUND.withDescription("no rotation job " + id).asRuntimeException());
                return;
              }
              out.onNext(encode(s.get()));
              out.onCompleted();
            },
            failure -> {
              LOG.errorf(failure, "GetRotationJob failed");
              out.onError(GrpcErrors.internal("GetRotationJob", failure));
            });
  }

  /**
   * CHAIN_UNAVAILABLE → UNAVAILABLE (retry later); every other refusal → PERMISSION_DENIED. Code in
   * the trailer.
   */
  static StatusRuntimeException denied(OperatorDenied d) {
    Status status =
        d.code() == OperatorDenied.Code.CHAIN_UNAVAILABLE
            ? Status.UNAVAILABLE
            : Status.PERMISSION_DENIED;
    Metadata trailers = new Metadata();
    trailers.put(GrpcErrors.DENY_REASON, d.code().name());
    return status.withDescription(d.getMessage()).asRuntimeException(trailers);
  }

  static RotationJobStatus encode(RotationControl.JobStatus s) {
    RotationJob j = s.job();
    RotationJobStatus.Builder b =
        RotationJobStatus.newBuilder()
            .setJobId(j.jobId().toString())
            .setKind(j.kind().name())
            .setState(j.state().name())
            .setFromGeneration(j.fromGeneration().orElse(0))
            .setTargetGeneration(j.targetGeneration().orElse(0))
            .setAppsTotal(s.appsTotal())
            .setAppsMoved(s.appsMoved())
            .setLastError(j.lastError().orElse(""))
            .setCreatedAt(j.createdAt())
            .setUpdatedAt(j.updatedAt())
            .setNotBefore(j.notBefore());
    s.signer().ifPresent(b::setSigner);
    j.appId().ifPresent(a -> b.setAppId(com.google.protobuf.ByteString.copyFrom(a.toBytes())));
    j.targetVersion().ifPresent(b::setTargetVersion);
    j.targetMinVersion().ifPresent(b::setTargetMinVersion);
    return b.build();
  }
}
