package org.teekms.agent;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.SimulatedGpuEvidenceProvider;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.crypto.Bytes;
import org.teekms.verifier.Check;
import org.teekms.verifier.ExpectedIdentity;
import org.teekms.verifier.GpuRequirement;
import org.teekms.verifier.ResponseVerification;
import org.teekms.verifier.SignedText;

/**
 * The agent tests' offline check of what the signing proxy serves: {@link ResponseVerification},
 * the one code path of {@code teekms verify response}, the verifier service and its page, against
 * the explicit identity of the fixture's CVM ({@link AgentFixture#OS_IMAGE}, its golden mrSystem,
 * the compose hash the test expects).
 */
final class ProxyVerdicts {
  private ProxyVerdicts() {}

  /** A verdict, read the way the agent's tests read it. */
  record Verdict(ResponseVerification.Result result) {
    boolean valid() {
      return result.valid();
    }

    /** The first failed row's code, null when valid. */
    String failure() {
      return result.failure().map(Check::code).orElse(null);
    }

    /** The first failed row's detail, null when valid. */
    String error() {
      return result.failure().map(Check::detail).orElse(null);
    }

    /** The whole verdict: rows and facts. */
    ObjectNode details() {
      return result.toJson();
    }

    /** The status of the named row ({@link ResponseVerification#GPUS}, …). */
    Check.Status status(String check) {
      return result.checks().stream()
          .filter(c -> c.name().equals(check))
          .findFirst()
          .orElseThrow(() -> new AssertionError("no row " + check))
          .status();
    }
  }

  /** How a test checks: which nonce it asked for, where the response came from, which roots. */
  record Verifier(
      Optional<byte[]> nonce,
      SignedText.Endpoint endpoint,
      boolean acceptNearText,
      GpuEvidenceVerifier gpu,
      ExpectedIdentity expected) {

    Verdict verify(byte[] report, byte[] signature, byte[] request, byte[] response) {
      return new Verdict(
          new ResponseVerification(
                  new ResponseVerification.Settings(
                      new DcapQuoteVerifier(SimulatedRaTls.TDX.rootCertificate()),
                      request1 -> SimulatedRaTls.COLLATERAL,
                      Instant.now(),
                      gpu,
                      endpoint,
                      acceptNearText,
                      nonce.map(Bytes::copyOf)))
              .verify(expected, report, signature, request, response));
    }
  }

  /**
   * The fixture CVM's identity: this compose hash, {@link AgentFixture#OS_IMAGE} proven by one of
   * {@code golden} (SHA-256(MRTD ‖ RTMR0-2)), at least one GPU when {@code requireGpu} (RIMs not
   * compared: the fixture's GPUs have none).
   */
  static ExpectedIdentity identity(byte[] composeHash, Set<Bytes> golden, boolean requireGpu) {
    return ExpectedIdentity.explicit(
        Optional.empty(),
        Bytes.copyOf(composeHash),
        Bytes.copyOf(AgentFixture.OS_IMAGE),
        golden,
        QuotePolicy.builder().build(),
        requireGpu ? new GpuRequirement(1, "", Optional.empty(), false) : GpuRequirement.NONE);
  }

  /** GPU evidence checked under the simulated GPUs' own root, no OCSP. */
  static GpuEvidenceVerifier gpuRoot(SimulatedGpuEvidenceProvider gpus) {
    return GpuEvidenceVerifier.builder(gpus.simulator().deviceRoot())
        .revocation(RevocationChecker.disabled())
        .build();
  }
}
