package org.teekms.cli;

import io.grpc.ManagedChannel;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import javax.net.ssl.SSLException;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.verifier.service.KmsAuditor;
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
    return KmsAuditor.failure(kms, "--timeout", timeoutSeconds, e);
  }

  ManagedChannel open(DcapQuoteVerifier dcap, CollateralSource collateral, Instant time)
      throws SSLException {
    KmsAuditor.Address address;
    try {
      address = KmsAuditor.Address.parse(kms);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    return KmsAuditor.open(
        address,
        dcap,
        collateral,
        Clock.fixed(time, ZoneOffset.UTC),
        Waiting.grpc(spec.commandLine().getErr(), spec.qualifiedName(), "the KMS at " + kms));
  }
}
