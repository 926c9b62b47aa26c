package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GpuDevicesTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void digestMatchesTheDocumentedVector() {
    byte[] a = new byte[32];
    byte[] b = new byte[32];
    Arrays.fill(a, (byte) 0x11);
    Arrays.fill(b, (byte) 0x22);
    String expected =
        "773f9251b7384ca350fd63afb3ea265dc082d35e878d68e57c7f74b1fc0dd559"
            + "3927faf81cdefbe78aeabc4aba16f020";
    assertEquals(expected, HEX.formatHex(GpuDevices.digest(List.of(a, b))));
    // Enumeration order does not matter; unsigned order (0x80 sorts after 0x7f).
    assertEquals(expected, HEX.formatHex(GpuDevices.digest(List.of(b, a))));
    assertEquals(
        expected,
        HEX.formatHex(GpuDevices.digestOfHex(List.of(HEX.formatHex(b), HEX.formatHex(a)))));
    byte[] hi = new byte[32];
    hi[0] = (byte) 0x80;
    byte[] lo = new byte[32];
    lo[0] = 0x7f;
    assertArrayEquals(GpuDevices.digest(List.of(lo, hi)), GpuDevices.digest(List.of(hi, lo)));
  }

  @Test
  void aChangedOrMissingDeviceChangesTheDigest() {
    byte[] a = new byte[32];
    byte[] b = new byte[32];
    b[31] = 1;
    byte[] c = new byte[32];
    c[31] = 2;
    byte[] both = GpuDevices.digest(List.of(a, b));
    assertFalse(Arrays.equals(both, GpuDevices.digest(List.of(a, c))));
    assertFalse(Arrays.equals(both, GpuDevices.digest(List.of(a))));
    assertFalse(Arrays.equals(both, GpuDevices.digest(List.of(a, b, b))));
  }

  @Test
  void theFingerprintIsTheVerifiersDeviceIdOfTheRealHopperReport() throws Exception {
    GpuEvidence evidence =
        new GpuEvidence(
            GpuArchitecture.HOPPER,
            List.of(
                GpuFixtures.device(
                    GpuFixtures.report2025(), GpuFixtures.der(GpuFixtures.chain2025()))));
    byte[] fp = GpuDevices.fingerprints(evidence).get(0);
    byte[] deviceCert = GpuFixtures.chain2025().get(1).getEncoded();
    assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(deviceCert), fp);
    assertArrayEquals(GpuDevices.digest(List.of(fp)), GpuDevices.digest(evidence));
  }

  @Test
  void badFingerprintsAndChainsAreRefused() throws Exception {
    assertThrows(IllegalArgumentException.class, () -> GpuDevices.digest(List.of(new byte[31])));
    assertThrows(IllegalArgumentException.class, () -> GpuDevices.digestOfHex(List.of("zz")));
    List<byte[]> chain = GpuFixtures.der(GpuFixtures.chain2025());
    GpuEvidence leafOnly =
        new GpuEvidence(
            GpuArchitecture.HOPPER,
            List.of(GpuFixtures.device(GpuFixtures.report2025(), List.of(chain.get(0)))));
    assertEquals(
        GpuAttestationException.Reason.CERT_CHAIN_INVALID,
        assertThrows(GpuAttestationException.class, () -> GpuDevices.digest(leafOnly)).reason());
    // Truncated and randomly mutated device certificates: a clear GpuAttestationException, never an
    // unchecked one.
    Random random = new Random(14);
    for (int i = 0; i < 200; i++) {
      byte[] cert = chain.get(1).clone();
      if (i % 2 == 0) {
        cert = Arrays.copyOf(cert, 1 + random.nextInt(cert.length - 1));
      } else {
        cert[random.nextInt(cert.length)] ^= (byte) (1 + random.nextInt(255));
      }
      GpuEvidence e =
          new GpuEvidence(
              GpuArchitecture.HOPPER,
              List.of(GpuFixtures.device(GpuFixtures.report2025(), List.of(chain.get(0), cert))));
      try {
        assertEquals(32, GpuDevices.fingerprints(e).get(0).length);
      } catch (GpuAttestationException expected) {
        assertEquals(GpuAttestationException.Reason.CERT_CHAIN_INVALID, expected.reason());
      }
    }
  }
}
