package org.teekms.kms.grpc;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.teekms.kms.admission.AdmissionDenied;

/**
 * AdmissionDenied → gRPC status: PERMISSION_DENIED, UNAVAILABLE or (RATE_LIMITED)
 * RESOURCE_EXHAUSTED, "CODE: detail", and the deny-reason trailer.
 */
public final class GrpcErrors {

  public static final Metadata.Key<String> DENY_REASON =
      Metadata.Key.of("teekms-deny-reason", Metadata.ASCII_STRING_MARSHALLER);

  private GrpcErrors() {}

  public static StatusRuntimeException denied(AdmissionDenied d) {
    Status status =
        d.code() == org.teekms.kms.admission.DenyCode.RATE_LIMITED
            ? Status.RESOURCE_EXHAUSTED
            : d.code().unavailable() ? Status.UNAVAILABLE : Status.PERMISSION_DENIED;
    Metadata trailers = new Metadata();
    trailers.put(DENY_REASON, d.code().name());
    return status.withDescription(d.code().name() + ": " + d.detail()).asRuntimeException(trailers);
  }

  public static StatusRuntimeException invalid(String detail) {
    return Status.INVALID_ARGUMENT.withDescription(detail).asRuntimeException();
  }

  public static StatusRuntimeException internal(String what, Throwable e) {
    // The cause is logged by the caller; the client learns only that the KMS failed and where.
    return Status.UNAVAILABLE
        .withDescription(what + " failed: " + e.getClass().getSimpleName())
        .asRuntimeException();
  }
}
