package org.teekms.kms.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.net.SocketAddress;
import java.util.Set;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.wiring.KmsConfig;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.RotationGrpc;

/**
 * A budget per source address ({@code teekms.limits.unauthenticated-*}) for the services anyone may
 * call without an attested certificate: KmsInfoService, Auditor, Rotation, Recovery. Over budget a
 * call is refused before any work with RESOURCE_EXHAUSTED, {@code RATE_LIMITED: …} and the
 * deny-reason trailer. Attested services (Kms, Onboarding) are bounded at the handshake instead;
 * AppEnv keeps its own budget ({@code teekms.env-pubkey.*}).
 */
@GlobalInterceptor
@Singleton
public class UnauthenticatedRateLimit implements ServerInterceptor {

  static final Set<String> LIMITED =
      Set.of(
          KmsInfoServiceGrpc.SERVICE_NAME,
          AuditorGrpc.SERVICE_NAME,
          RotationGrpc.SERVICE_NAME,
          org.teekms.proto.RecoveryGrpc.SERVICE_NAME);

  private final SourceRateLimiter limiter;

  @Inject
  public UnauthenticatedRateLimit(KmsConfig config) {
    this(
        new SourceRateLimiter(
            config.limits().unauthenticatedRequestsPerMinute(),
            config.limits().unauthenticatedBurst(),
            config.limits().maxSources(),
            System::nanoTime));
  }

  UnauthenticatedRateLimit(SourceRateLimiter limiter) {
    this.limiter = limiter;
  }

  /**
   * The refusal for a call to {@code fullMethodName} from {@code remote}, or null when it may
   * proceed.
   */
  Status refusal(String fullMethodName, SocketAddress remote) {
    String service = io.grpc.MethodDescriptor.extractFullServiceName(fullMethodName);
    if (service == null || !LIMITED.contains(service)) {
      return null;
    }
    String source = AppEnvService.source(remote);
    if (limiter.tryAcquire(source)) {
      return null;
    }
    return Status.RESOURCE_EXHAUSTED.withDescription(
        DenyCode.RATE_LIMITED.name()
            + ": source "
            + source
            + " exceeded teekms.limits.unauthenticated-requests-per-minute; retry later");
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Status refused =
        refusal(
            call.getMethodDescriptor().getFullMethodName(),
            call.getAttributes().get(io.grpc.Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    if (refused == null) {
      return next.startCall(call, headers);
    }
    Metadata trailers = new Metadata();
    trailers.put(GrpcErrors.DENY_REASON, DenyCode.RATE_LIMITED.name());
    call.close(refused, trailers);
    return new ServerCall.Listener<>() {};
  }
}
