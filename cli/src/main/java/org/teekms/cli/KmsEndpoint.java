package org.teekms.cli;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import javax.net.ssl.SSLException;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.NetworkErrors;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code --kms HOST:PORT} and {@code --timeout}: a gRPC channel over TLS to a KMS node whose RA-TLS
 * server certificate is verified in the handshake (DCAP under {@code --root-ca}/Intel with the
 * given collateral).
 */
final class KmsEndpoint {
  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  @Option(
      names = "--kms",
      required = true,
      paramLabel = "HOST:PORT",
      description = "The KMS node (gRPC over TLS).")
  String kms;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description = "Call deadline (default 30).")
  int timeoutSeconds;

  /**
   * A failed call in words: an unreachable or untrusted KMS names {@code --kms} and the cause
   * (refused, unknown host, RA-TLS verification), never Netty's internals; a KMS that answered
   * keeps its status and description.
   */
  String failure(io.grpc.StatusRuntimeException e) {
    io.grpc.Status s = e.getStatus();
    if (s.getCode() == io.grpc.Status.Code.UNAVAILABLE
        || s.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) {
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof org.teekms.attest.ratls.RaTlsException r
            && r.reason()
                == org.teekms.attest.ratls.RaTlsException.Reason.CERTIFICATE_NOT_YET_VALID) {
          return "the KMS at "
              + kms
              + " presents a certificate that is not yet valid by this machine's clock: one of"
              + " the two clocks is wrong ("
              + r.detail()
              + "); `teekms kms status` shows the KMS's clock against the chain's";
        }
      }
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof javax.net.ssl.SSLException) {
          return "the KMS at " + kms + " failed RA-TLS verification: " + c.getMessage();
        }
      }
      // a timeout is answered below with the deadline that ran out
      java.util.Optional<String> network =
          NetworkErrors.cause(e).filter(w -> !w.equals(NetworkErrors.TIMED_OUT));
      if (network.isPresent()) {
        return "cannot reach the KMS at " + kms + ": " + network.get();
      }
      if (s.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) {
        return "the KMS at " + kms + " did not answer within " + timeoutSeconds + " s (--timeout)";
      }
      return "cannot reach the KMS at "
          + kms
          + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }
    return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
  }

  ManagedChannel open(DcapQuoteVerifier dcap, CollateralSource collateral, Instant time)
      throws SSLException {
    int colon = kms.lastIndexOf(':');
    int port = -1;
    try {
      port = Integer.parseInt(kms.substring(colon + 1));
    } catch (RuntimeException e) {
      // reported below
    }
    if (colon <= 0 || port < 1 || port > 65535) {
      throw new ParameterException(spec.commandLine(), "--kms must be HOST:PORT, got " + kms);
    }
    RaTlsTrustManager trust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(dcap, collateral)
                .quotePolicy(QuotePolicy.builder().build())
                .clock(Clock.fixed(time, ZoneOffset.UTC))
                .build());
    // RA-TLS identifies the server by its attested certificate, not by a DNS name.
    return NettyChannelBuilder.forAddress(kms.substring(0, colon), port)
        .overrideAuthority("kms.teekms.invalid")
        .sslContext(
            GrpcSslContexts.configure(
                    SslContextBuilder.forClient()
                        .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                    SslProvider.JDK)
                .build())
        .intercept(
            Waiting.grpc(spec.commandLine().getErr(), spec.qualifiedName(), "the KMS at " + kms))
        .build();
  }
}
