package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.URI;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.teekms.attest.Fixtures;

/**
 * Coverage-guided fuzz targets (Jazzer) for NVIDIA evidence: Hopper attestation reports, the
 * GpuEvidence DER a CVM puts in its certificate, RIM XML and OCSP responses. Corpus: {@code
 * src/test/resources/org/teekms/attest/gpu/GpuFuzzTestInputs/<target>/}, seeded from
 * testdata/nvtrust. Only {@link GpuAttestationException} may escape a parser; verifiers always
 * return a result; a mutated signed report, RIM or OCSP response is never accepted with content
 * other than the signed original's.
 */
class GpuFuzzTest {
  private static final Instant AT = Instant.parse("2025-01-01T00:00:00Z");
  private static final GpuEvidenceVerifier VERIFIER =
      GpuEvidenceVerifier.nvidia().revocation(RevocationChecker.disabled()).build();
  private static final byte[] REPORT = GpuFixtures.report2025();
  private static final List<X509Certificate> CHAIN;
  private static final String RIM_FILE = "1010_0200_882_96005E0001_PROD.swidtag";
  private static final Rim RIM;

  /** What the fuzzed OCSP responder answers (the current input; one fuzzing thread). */
  private static final AtomicReference<byte[]> RESPONSE = new AtomicReference<>();

  /**
   * Built once, not per input: with no cache (size 0) the checker keeps no state between checks but
   * its random source for the nonces, so each input is judged as by a fresh checker.
   */
  private static final OcspChecker OCSP =
      new OcspChecker(
          new OcspChecker.Config(
              URI.create("http://127.0.0.1:9/"),
              OcspChecker.Mode.FAIL_CLOSED,
              Duration.ofDays(7),
              Duration.ofMinutes(5),
              Duration.ofSeconds(1),
              0),
          (uri, request) -> RESPONSE.get());

  static {
    try {
      CHAIN = GpuFixtures.chain2025();
      if (!VERIFIER
          .verifyDevice(REPORT, CHAIN, GpuArchitecture.HOPPER, GpuFixtures.NONCE_2025, AT)
          .valid()) {
        throw new IllegalStateException("the 2025 Hopper fixture no longer verifies");
      }
      RIM =
          RimVerifier.verify(
              Fixtures.bytes("nvtrust/rims/" + RIM_FILE), NvidiaRoots.rimSigningRootCa(), RIM_FILE);
    } catch (GpuAttestationException e) {
      throw new IllegalStateException(e);
    }
  }

  @FuzzTest
  void hopperReport(byte[] data) {
    try {
      assertNotNull(HopperReportParser.parse(data));
    } catch (GpuAttestationException expected) {
      // typed
    }
  }

  /**
   * The real signed 2025 report, mutated: valid only if the signed part (all but the 96-byte
   * signature) is intact.
   */
  @FuzzTest
  void signedHopperReport(byte[] data) {
    GpuResult r =
        VERIFIER.verifyDevice(data, CHAIN, GpuArchitecture.HOPPER, GpuFixtures.NONCE_2025, AT);
    assertNotNull(r);
    if (r.valid()) {
      assertTrue(
          data.length == REPORT.length
              && Arrays.equals(data, 0, data.length - 96, REPORT, 0, REPORT.length - 96),
          "a mutated Hopper report verified");
    } else {
      assertNotNull(r.failure());
    }
  }

  /** GpuEvidence DER: a typed refusal or a value that re-encodes to a value equal to itself. */
  @FuzzTest
  void gpuEvidenceDer(byte[] data) {
    try {
      GpuEvidence e = GpuEvidence.decode(data);
      assertEquals(e, GpuEvidence.decode(e.encode()), "DER round trip");
      List<GpuResult> results = VERIFIER.verify(e, GpuFixtures.NONCE_2025, AT);
      for (int i = 0; i < results.size(); i++) {
        if (results.get(i).valid()) {
          byte[] report = e.gpus().get(i).report().toByteArray();
          assertTrue(
              Arrays.equals(report, 0, report.length - 96, REPORT, 0, REPORT.length - 96),
              "a mutated report inside GpuEvidence verified");
        }
      }
    } catch (GpuAttestationException expected) {
      // typed
    }
  }

  /**
   * A real NVIDIA RIM, mutated: a typed refusal, or a RIM whose content is the signed original's.
   */
  @FuzzTest
  void rimXml(byte[] data) {
    try {
      Rim r = RimVerifier.verify(data, NvidiaRoots.rimSigningRootCa(), RIM_FILE);
      assertEquals(content(RIM), content(r), "a mutated RIM verified with other measurements");
      assertEquals(RIM.version(), r.version());
      assertEquals(RIM.product(), r.product());
    } catch (GpuAttestationException expected) {
      // typed
    }
  }

  /**
   * Fuzzed bytes as the OCSP responder's answer for the real NVIDIA chain: the checker never throws
   * and never says GOOD (a fuzzed response can't be signed by the chain nor echo the request's
   * fresh nonce).
   */
  @FuzzTest
  void ocspResponse(byte[] data) {
    RESPONSE.set(data);
    OcspResult r = OCSP.check(CHAIN, 0, CHAIN.size() - 1, AT);
    for (OcspResult.CertStatus s : r.certificates()) {
      assertTrue(
          s.status() == OcspResult.Status.INVALID_RESPONSE
              || s.status() == OcspResult.Status.UNAVAILABLE,
          () -> "fuzzed OCSP response gave " + s);
    }
    assertTrue(!r.ok() || r.certificates().isEmpty(), r::summary);
  }

  /**
   * The golden measurements as text (GoldenMeasurement holds byte arrays, so record equality would
   * be identity).
   */
  private static List<String> content(Rim rim) {
    return rim.measurements().stream()
        .map(
            m ->
                m.index()
                    + "/"
                    + m.active()
                    + "/"
                    + m.size()
                    + "/"
                    + m.alternatives().stream().map(b -> b.hex()).toList())
        .toList();
  }
}
