package org.teekms.agent.boot;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetAppKeysResponse;
import org.teekms.proto.KmsGrpc;
import org.teekms.proto.SignCertRequest;
import org.teekms.proto.SignCertResponse;

/**
 * The KMS's attested services over mutual RA-TLS (grpc-java, Netty, JDK TLS): we present our RA-TLS
 * certificate and accept the KMS only through {@link RaTlsTrustManager} (whose policy is a {@link
 * KmsAuthorizer}). Transient failures (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED)
 * are retried with {@link Backoff}; a denial (PERMISSION_DENIED) or any other status fails at once
 * with the KMS's reason.
 */
public final class KmsClient implements AutoCloseable {
  /** The trailer in which the KMS names its DenyReason (kms-proto common.proto). */
  public static final Metadata.Key<String> DENY_REASON =
      Metadata.Key.of("teekms-deny-reason", Metadata.ASCII_STRING_MARSHALLER);

  private static final Set<Status.Code> TRANSIENT =
      Set.of(
          Status.Code.UNAVAILABLE,
          Status.Code.DEADLINE_EXCEEDED,
          Status.Code.RESOURCE_EXHAUSTED,
          Status.Code.ABORTED);

  private final ManagedChannel channel;
  private final Backoff backoff;
  private final Backoff.Sleeper sleeper;
  private final Duration callTimeout;

  public KmsClient(
      String host,
      int port,
      RaTlsKeyManager ourKeys,
      RaTlsTrustManager kmsTrust,
      Backoff backoff,
      Backoff.Sleeper sleeper,
      Duration callTimeout)
      throws SSLException {
    SslContext ssl =
        GrpcSslContexts.configure(
                SslContextBuilder.forClient()
                    .keyManager(RaTlsContexts.keyManagerFactory(ourKeys))
                    .trustManager(RaTlsContexts.trustManagerFactory(kmsTrust)),
                SslProvider.JDK)
            .build();
    // The attested identity, not the host name, authenticates the KMS: the authority is only a
    // label.
    this.channel =
        NettyChannelBuilder.forAddress(host, port)
            .overrideAuthority("kms.teekms.invalid")
            .sslContext(ssl)
            .maxInboundMessageSize(4 * 1024 * 1024)
            .build();
    this.backoff = backoff;
    this.sleeper = sleeper;
    this.callTimeout = callTimeout;
  }

  public GetAppKeysResponse getAppKeys(GetAppKeysRequest request) throws BootFailure {
    return withRetry("GetAppKeys", () -> stub().getAppKeys(request));
  }

  public SignCertResponse signCert(SignCertRequest request) throws BootFailure {
    return withRetry("SignCert", () -> stub().signCert(request));
  }

  private KmsGrpc.KmsBlockingStub stub() {
    return KmsGrpc.newBlockingStub(channel)
        .withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private <T> T withRetry(String call, Supplier<T> rpc) throws BootFailure {
    StatusRuntimeException last = null;
    for (int attempt = 1; attempt <= backoff.maxAttempts(); attempt++) {
      try {
        sleeper.sleep(backoff.delayBefore(attempt));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BootFailure("INTERRUPTED", call + " interrupted", e);
      }
      try {
        return rpc.get();
      } catch (StatusRuntimeException e) {
        last = e;
        if (!TRANSIENT.contains(e.getStatus().getCode())) {
          throw new BootFailure(reason(e), call + " refused by the KMS: " + describe(e), e);
        }
      }
    }
    throw new BootFailure(
        "RETRIES_EXHAUSTED",
        call + " failed " + backoff.maxAttempts() + " times; last error: " + describe(last),
        last);
  }

  static String reason(StatusRuntimeException e) {
    Metadata trailers = e.getTrailers();
    String r = trailers == null ? null : trailers.get(DENY_REASON);
    return r != null ? r : e.getStatus().getCode().name();
  }

  static String describe(StatusRuntimeException e) {
    Status s = e.getStatus();
    String d = s.getDescription();
    Throwable c = s.getCause();
    return s.getCode()
        + (d == null ? "" : " " + d)
        + (c == null ? "" : " (" + c.getMessage() + ")");
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
