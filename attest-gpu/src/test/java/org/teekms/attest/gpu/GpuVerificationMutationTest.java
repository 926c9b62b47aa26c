package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.CERT_CHAIN_INVALID;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.MALFORMED_REPORT;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.NONCE_MISMATCH;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.SIGNATURE_INVALID;
import static org.teekms.attest.gpu.GpuFixtures.NONCE_2023;
import static org.teekms.attest.gpu.GpuFixtures.NONCE_2025;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every mutation of real evidence is rejected, with the reason of the check it breaks. */
class GpuVerificationMutationTest {
  private static final Instant AT = Instant.parse("2025-01-01T00:00:00Z");
  private final GpuEvidenceVerifier verifier =
      GpuEvidenceVerifier.nvidia().revocation(RevocationChecker.disabled()).build();
  @TempDir Path tmp;

  private GpuResult verify2025(
      byte[] report, List<X509Certificate> chain, byte[] nonce, Instant at) {
    return verifier.verifyDevice(report, chain, GpuArchitecture.HOPPER, nonce, at);
  }

  private static void assertRejected(
      GpuResult r, GpuAttestationException.Reason reason, String fragment) {
    assertFalse(r.valid());
    assertEquals(reason, r.failure(), r::error);
    assertTrue(r.error().contains(fragment), () -> "'" + r.error() + "' lacks '" + fragment + "'");
  }

  @Test
  void baselineIsValid() throws Exception {
    assertTrue(
        verify2025(GpuFixtures.report2025(), GpuFixtures.chain2025(), NONCE_2025, AT).valid());
    assertTrue(
        verifier
            .verifyDevice(GpuFixtures.report2023(), GpuFixtures.chain2023(), null, NONCE_2023, AT)
            .valid());
  }

  /** Offsets in the 2025 report's 96-byte signature: its first byte, the middle, the last. */
  static IntStream signatureOffsets() throws Exception {
    int n = GpuFixtures.report2025().length;
    return IntStream.of(n - 96, n - 50, n - 1);
  }

  @ParameterizedTest(name = "byte {0}")
  @MethodSource("signatureOffsets")
  void signatureByteFlipIsASignatureFailure(int i) throws Exception {
    byte[] m = GpuFixtures.report2025();
    m[i] ^= 0x01;
    assertRejected(
        verify2025(m, GpuFixtures.chain2025(), NONCE_2025, AT),
        SIGNATURE_INVALID,
        "does not verify");
  }

  @Test
  void nonceInReportChangedBreaksTheSignature() throws Exception {
    byte[] m = GpuFixtures.report2025();
    m[4] ^= 0x01;
    byte[] claimed = Arrays.copyOfRange(m, 4, 36);
    // Even if the verifier expects exactly the altered nonce, the signature no longer covers it.
    assertRejected(
        verify2025(m, GpuFixtures.chain2025(), claimed, AT), SIGNATURE_INVALID, "does not verify");
  }

  @Test
  void wrongExpectedNonceIsANonceMismatch() throws Exception {
    assertRejected(
        verify2025(GpuFixtures.report2025(), GpuFixtures.chain2025(), NONCE_2023, AT),
        NONCE_MISMATCH,
        "is not the expected nonce");
  }

  @Test
  void measurementByteChangeBreaksTheSignature() throws Exception {
    byte[] m = GpuFixtures.report2025();
    m[37 + 8 + 55 + 7] ^= 0x40; // inside block 2's value
    assertRejected(
        verify2025(m, GpuFixtures.chain2025(), NONCE_2025, AT),
        SIGNATURE_INVALID,
        "does not verify");
  }

  /**
   * Cuts inside the request, the response header, the measurement blocks, before and inside the
   * signature.
   */
  static IntStream truncatedLengths() throws Exception {
    int n = GpuFixtures.report2025().length;
    return IntStream.of(0, 1, 36, 37, 45, 1000, 3600, n - 97, n - 1);
  }

  @ParameterizedTest(name = "first {0} bytes")
  @MethodSource("truncatedLengths")
  void aTruncatedReportIsMalformed(int len) throws Exception {
    assertRejected(
        verify2025(
            Arrays.copyOf(GpuFixtures.report2025(), len), GpuFixtures.chain2025(), NONCE_2025, AT),
        MALFORMED_REPORT,
        "at offset");
  }

  @Test
  void chainOutOfOrderIsRejected() throws Exception {
    List<X509Certificate> swapped = new ArrayList<>(GpuFixtures.chain2025());
    X509Certificate c = swapped.get(1);
    swapped.set(1, swapped.get(2));
    swapped.set(2, c);
    assertRejected(
        verify2025(GpuFixtures.report2025(), swapped, NONCE_2025, AT),
        CERT_CHAIN_INVALID,
        "wrong order");
  }

  @Test
  void reversedChainIsRejected() throws Exception {
    List<X509Certificate> reversed = new ArrayList<>(GpuFixtures.chain2025());
    java.util.Collections.reverse(reversed);
    assertRejected(
        verify2025(GpuFixtures.report2025(), reversed, NONCE_2025, AT),
        CERT_CHAIN_INVALID,
        "certificate 0");
  }

  @Test
  void otherGpusChainIsASignatureFailure() throws Exception {
    assertRejected(
        verify2025(GpuFixtures.report2025(), GpuFixtures.chain2023(), NONCE_2025, AT),
        SIGNATURE_INVALID,
        "does not verify");
  }

  @Test
  void chainBeforeItsValidityIsRejected() throws Exception {
    // NVIDIA's device chains never expire (9999-12-31); the Provisioner ICA starts 2022-03-01.
    assertRejected(
        verify2025(
            GpuFixtures.report2025(),
            GpuFixtures.chain2025(),
            NONCE_2025,
            Instant.parse("2021-12-31T00:00:00Z")),
        CERT_CHAIN_INVALID,
        "is not valid at 2021-12-31T00:00:00Z");
  }

  @Test
  void expiredRimSignerChainIsRejected() throws Exception {
    RimStore store =
        RimStore.load(
            GpuFixtures.rimDir(
                tmp,
                "Driver_RIM_test_no_gpu.swidtag",
                "1010_0200_882_96005E0001_test_no_gpu.swidtag"),
            NvidiaRoots.rimSigningRootCa());
    GpuEvidenceVerifier withRims =
        GpuEvidenceVerifier.nvidia()
            .rimStore(store)
            .revocation(RevocationChecker.disabled())
            .build();
    GpuResult r =
        withRims.verifyDevice(
            GpuFixtures.report2023(),
            GpuFixtures.chain2023(),
            null,
            NONCE_2023,
            Instant.parse("2025-07-01T00:00:00Z"));
    assertRejected(
        r, GpuAttestationException.Reason.RIM_INVALID, "is not valid at 2025-07-01T00:00:00Z");
  }

  @Test
  void chainWithoutRootOrLeafOnlyIsHandled() throws Exception {
    List<X509Certificate> noRoot = GpuFixtures.chain2025().subList(0, 4);
    assertTrue(
        verify2025(GpuFixtures.report2025(), noRoot, NONCE_2025, AT).valid(),
        "root may be left out");
    assertRejected(
        verify2025(GpuFixtures.report2025(), GpuFixtures.chain2025().subList(0, 1), NONCE_2025, AT),
        CERT_CHAIN_INVALID,
        "at least");
    assertRejected(
        verify2025(GpuFixtures.report2025(), GpuFixtures.chain2025().subList(0, 3), NONCE_2025, AT),
        CERT_CHAIN_INVALID,
        "not by the trust anchor (O=NVIDIA,CN=NVIDIA Device Identity CA)");
  }

  @Test
  void seededRandomMutationsNeverVerifyAndNeverThrow() throws Exception {
    byte[] original = GpuFixtures.report2025();
    List<X509Certificate> chain = GpuFixtures.chain2025();
    Random random = new Random(Long.getLong("teekms.test.seed", 20251124));
    int reasons = 0;
    java.util.EnumSet<GpuAttestationException.Reason> seen =
        java.util.EnumSet.noneOf(GpuAttestationException.Reason.class);
    for (int i = 0; i < 1500; i++) {
      byte[] m = HopperReportParserTest.mutate(original, random);
      if (Arrays.equals(m, original)) {
        continue;
      }
      GpuResult r =
          verify2025(m, chain, NONCE_2025, AT); // an unchecked exception fails the test here
      assertFalse(r.valid(), "mutation " + i + " verified");
      seen.add(r.failure());
      reasons++;
    }
    assertTrue(reasons > 1000);
    assertTrue(seen.contains(MALFORMED_REPORT) && seen.contains(SIGNATURE_INVALID), seen::toString);
  }

  @Test
  void seededRandomCertificateMutationsNeverVerify() throws Exception {
    List<X509Certificate> chain = GpuFixtures.chain2025();
    Random random = new Random(Long.getLong("teekms.test.seed", 7));
    for (int i = 0; i < 1000; i++) {
      List<byte[]> der = GpuFixtures.der(chain);
      int which = random.nextInt(der.size());
      byte[] c = der.get(which);
      c[random.nextInt(c.length)] ^= (byte) (1 + random.nextInt(255));
      GpuEvidence evidence =
          new GpuEvidence(
              GpuArchitecture.HOPPER, List.of(GpuFixtures.device(GpuFixtures.report2025(), der)));
      GpuResult r = verifier.verify(evidence, NONCE_2025, AT).get(0);
      assertFalse(r.valid(), "certificate mutation " + i + " verified");
    }
  }
}
