package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.MALFORMED_EVIDENCE;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The evidence container and the nonce derivation, with the test vectors of
 * docs/gpu-attestation.md.
 */
class GpuEvidenceTest {
  private static final HexFormat HEX = HexFormat.of();

  static GpuEvidence evidence2023() throws Exception {
    return new GpuEvidence(
        GpuArchitecture.HOPPER,
        List.of(
            GpuFixtures.device(
                GpuFixtures.report2023(), GpuFixtures.der(GpuFixtures.chain2023()))));
  }

  @Test
  void encodingTestVector() throws Exception {
    GpuEvidence e = evidence2023();
    byte[] der = e.encode();
    assertEquals(7460, der.length);
    assertEquals("30821d200201010c06484f5050455230", HEX.formatHex(der, 0, 16));
    assertEquals(
        "975a8b4e8968c6ae43fee7cfeef69afbf30aab9d084dce15baec0980b183dd6858b0b145727ec3d27e3015a8ce7b5a80",
        HEX.formatHex(e.sha384()));
    assertEquals(
        "a7157997dc1c726cfacfc04711d24ce0d7450cc916120880c66b08c9f3cb975d6d742979d253abcee4ab79b33bb7997a",
        HEX.formatHex(e.rtmr3EventDigest()));
    GpuEvidence back = GpuEvidence.decode(der);
    assertEquals(e, back);
    assertArrayEquals(der, back.encode());
  }

  @Test
  void nonceTestVectors() throws Exception {
    byte[] spki = GpuFixtures.chain2023().get(0).getPublicKey().getEncoded();
    assertEquals(120, spki.length);
    assertEquals(
        "63d4929f3f7be5dcbfdddb9d73dd128e8ef8056416badc9482afc8e55880263c",
        HEX.formatHex(GpuNonce.forSpki(spki)));
    byte[] p256 =
        HEX.parseHex("3059301306072a8648ce3d020106082a8648ce3d03010703420004" + "11".repeat(64));
    assertEquals(
        "7314ca5fa8ab27292810572dd0846f59c172c81534eeac44a87c60db6c6d35a4",
        HEX.formatHex(GpuNonce.forSpki(p256)));
    assertThrows(IllegalArgumentException.class, () -> GpuNonce.forSpki(new byte[0]));
  }

  @Test
  void decodedEvidenceVerifiesWithTheVerifier() throws Exception {
    GpuEvidence back = GpuEvidence.decode(evidence2023().encode());
    List<GpuResult> results =
        GpuEvidenceVerifier.nvidia()
            .revocation(RevocationChecker.disabled())
            .build()
            .verify(back, GpuFixtures.NONCE_2023, GpuFixtures.RIM_TIME);
    assertTrue(results.get(0).valid(), results.get(0)::error);
  }

  @Test
  void strictDecoding() throws Exception {
    byte[] der = evidence2023().encode();
    assertMalformed(new byte[0], "allowed 1..");
    assertMalformed(new byte[GpuEvidence.MAX_ENCODED_BYTES + 1], "allowed 1..");
    assertMalformed(Arrays.copyOf(der, der.length + 1), "");
    assertMalformed(Arrays.copyOf(der, der.length - 1), "");
    byte[] v2 = der.clone();
    v2[6] = 2; // version INTEGER 2
    assertMalformed(v2, "version");
    byte[] arch = der.clone();
    arch[9] = 'X'; // "XOPPER"
    assertMalformed(arch, "unknown architecture");
    // Long-form length where the short form fits: not DER.
    byte[] ber = HEX.parseHex("3081080201010c03414243");
    assertMalformed(ber, "");
  }

  @Test
  void sizeLimitsOnConstruction() throws Exception {
    byte[] report = GpuFixtures.report2023();
    List<byte[]> chain = GpuFixtures.der(GpuFixtures.chain2023());
    GpuEvidence.Device d = GpuFixtures.device(report, chain);
    assertThrows(
        IllegalArgumentException.class, () -> new GpuEvidence(GpuArchitecture.HOPPER, List.of()));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new GpuEvidence(
                GpuArchitecture.HOPPER,
                java.util.Collections.nCopies(GpuEvidence.MAX_GPUS + 1, d)));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new GpuEvidence(
                GpuArchitecture.HOPPER,
                List.of(
                    GpuFixtures.device(new byte[HopperReportParser.MAX_REPORT_BYTES + 1], chain))));
    GpuEvidence eight =
        new GpuEvidence(GpuArchitecture.HOPPER, java.util.Collections.nCopies(8, d));
    assertEquals(eight, GpuEvidence.decode(eight.encode()));
  }

  @Test
  void seededRandomMutationsNeverThrowUnchecked() throws Exception {
    byte[] der = evidence2023().encode();
    Random random = new Random(Long.getLong("teekms.test.seed", 42));
    GpuEvidenceVerifier verifier =
        GpuEvidenceVerifier.nvidia().revocation(RevocationChecker.disabled()).build();
    for (int i = 0; i < 3000; i++) {
      byte[] m = der.clone();
      if (random.nextBoolean()) {
        m = Arrays.copyOf(m, random.nextInt(m.length));
      } else {
        int at = random.nextInt(40) < 30 ? random.nextInt(64) : random.nextInt(m.length);
        m[at] ^= (byte) (1 + random.nextInt(255));
      }
      try {
        GpuEvidence decoded = GpuEvidence.decode(m);
        // A mutation inside a report or certificate can still decode; the verifier must then reject
        // it.
        List<GpuResult> r = verifier.verify(decoded, GpuFixtures.NONCE_2023, GpuFixtures.RIM_TIME);
        assertTrue(r.stream().noneMatch(GpuResult::valid), "mutation " + i + " verified");
      } catch (GpuAttestationException e) {
        assertEquals(MALFORMED_EVIDENCE, e.reason());
      }
    }
  }

  private static void assertMalformed(byte[] der, String fragment) {
    GpuAttestationException e =
        assertThrows(GpuAttestationException.class, () -> GpuEvidence.decode(der));
    assertEquals(MALFORMED_EVIDENCE, e.reason());
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
  }
}
