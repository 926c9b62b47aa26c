package org.teekms.custody;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

/**
 * Share and commitment decoders: round trip, truncated, oversized, mutated and seeded random input.
 */
class EncodingsTest {
  private static final InsecureSecretAccess ACCESS = InsecureSecretAccess.get();

  private static Shamir.Split split() throws CustodyException {
    SecretBytes s =
        SecretBytes.copyOf(Group.to32(Shamir.uniformScalar(new SeededRandom("s"))), ACCESS);
    return Shamir.split(s, 3, 4, new SeededRandom("split"));
  }

  @Test
  void encodingsRoundTrip() throws Exception {
    try (Shamir.Split split = split()) {
      byte[] c = split.commitments().encode();
      assertEquals(2 + 3 * 33, c.length);
      assertEquals(split.commitments(), Commitments.decode(c));
      assertArrayEquals(c, Commitments.decode(c).encode());
      for (Share s : split.shares()) {
        byte[] e = s.encode(ACCESS);
        assertEquals(34, e.length);
        assertTrue(Share.decode(e, ACCESS).equalsShare(s));
      }
    }
  }

  @Test
  void badShareEncodingsAreOneLineErrors() throws Exception {
    try (Shamir.Split split = split()) {
      byte[] e = split.shares().get(0).encode(ACCESS);
      assertEquals(
          "share encoding must be 34 bytes, got 33",
          assertThrows(CustodyException.class, () -> Share.decode(Arrays.copyOf(e, 33), ACCESS))
              .getMessage());
      assertEquals(
          "share encoding must be 34 bytes, got 35",
          assertThrows(CustodyException.class, () -> Share.decode(Arrays.copyOf(e, 35), ACCESS))
              .getMessage());
      byte[] v = e.clone();
      v[0] = 2;
      assertEquals(
          "share encoding version 2 is not 1",
          assertThrows(CustodyException.class, () -> Share.decode(v, ACCESS)).getMessage());
      byte[] zero = e.clone();
      zero[1] = 0;
      assertEquals(
          "share index must be 1..255, got 0",
          assertThrows(CustodyException.class, () -> Share.decode(zero, ACCESS)).getMessage());
      byte[] big = e.clone();
      Arrays.fill(big, 2, 34, (byte) 0xff);
      assertEquals(
          "share 1 value is not below the group order",
          assertThrows(CustodyException.class, () -> Share.decode(big, ACCESS)).getMessage());
    }
  }

  @Test
  void badCommitmentEncodingsAreOneLineErrors() throws Exception {
    try (Shamir.Split split = split()) {
      byte[] c = split.commitments().encode();
      assertEquals(
          "commitments encoding is truncated",
          assertThrows(CustodyException.class, () -> Commitments.decode(new byte[1])).getMessage());
      assertEquals(
          "commitments with threshold 3 must be 101 bytes, got 100",
          assertThrows(CustodyException.class, () -> Commitments.decode(Arrays.copyOf(c, 100)))
              .getMessage());
      assertEquals(
          "commitments with threshold 3 must be 101 bytes, got 102",
          assertThrows(CustodyException.class, () -> Commitments.decode(Arrays.copyOf(c, 102)))
              .getMessage());
      byte[] t0 = {1, 0};
      assertEquals(
          "commitments threshold must be >= 1",
          assertThrows(CustodyException.class, () -> Commitments.decode(t0)).getMessage());
      byte[] ver = c.clone();
      ver[0] = 9;
      assertEquals(
          "commitments encoding version 9 is not 1",
          assertThrows(CustodyException.class, () -> Commitments.decode(ver)).getMessage());
      byte[] prefix = c.clone();
      prefix[2 + 33] = 4;
      assertEquals(
          "commitment C_1 has point prefix 0x04",
          assertThrows(CustodyException.class, () -> Commitments.decode(prefix)).getMessage());
      byte[] infinityC0 = c.clone();
      Arrays.fill(infinityC0, 2, 35, (byte) 0);
      assertEquals(
          "commitment C_0 has point prefix 0x00",
          assertThrows(CustodyException.class, () -> Commitments.decode(infinityC0)).getMessage());
      // x = 5 has no point on secp256k1 (5^3 + 7 = 132 is not a square mod p)
      byte[] offCurve = c.clone();
      Arrays.fill(offCurve, 36, 68, (byte) 0);
      offCurve[67] = 5;
      assertEquals(
          "commitment C_1 is not a point on the curve",
          assertThrows(CustodyException.class, () -> Commitments.decode(offCurve)).getMessage());
    }
  }

  @Test
  void aZeroCoefficientIsEncodedAsInfinityAndRoundTrips() throws Exception {
    Commitments c =
        Commitments.ofCoefficients(
            java.util.List.of(java.math.BigInteger.TWO, java.math.BigInteger.ZERO));
    byte[] e = c.encode();
    assertArrayEquals(new byte[33], Arrays.copyOfRange(e, 35, 68));
    assertEquals(c, Commitments.decode(e));
    assertTrue(c.verify(Share.ofScalar(5, java.math.BigInteger.TWO)));
  }

  @Test
  void mutatedAndRandomInputNeverThrowsUnchecked() throws Exception {
    Random r = new Random(2121);
    try (Shamir.Split split = split()) {
      byte[] c = split.commitments().encode();
      byte[] s = split.shares().get(2).encode(ACCESS);
      for (int i = 0; i < 5000; i++) {
        byte[] base = r.nextBoolean() ? c : s;
        byte[] m;
        switch (r.nextInt(4)) {
          case 0 -> m = Arrays.copyOf(base, r.nextInt(base.length + 40));
          case 1 -> {
            m = base.clone();
            for (int k = 1 + r.nextInt(4); k > 0; k--)
              m[r.nextInt(m.length)] ^= (byte) (1 + r.nextInt(255));
          }
          case 2 -> {
            m = new byte[r.nextInt(200)];
            r.nextBytes(m);
          }
          default -> {
            m = new byte[2 + 33 * (1 + r.nextInt(4))];
            r.nextBytes(m);
            m[0] = 1;
            m[1] = (byte) ((m.length - 2) / 33);
          }
        }
        byte[] input = m;
        try {
          Commitments.decode(input);
        } catch (CustodyException expected) {
          assertTrue(!expected.getMessage().isEmpty() && !expected.getMessage().contains("\n"));
        }
        try {
          Share.decode(input, ACCESS).destroy();
        } catch (CustodyException expected) {
          assertTrue(!expected.getMessage().isEmpty() && !expected.getMessage().contains("\n"));
        }
      }
    }
  }

  @Test
  void recipientKeyAndPrivateKeyDecodersNeverThrowUnchecked() throws Exception {
    Random r = new Random(6521);
    byte[] valid = RecipientKeyPair.generate(new SeededRandom("k")).publicKey().encode();
    for (int i = 0; i < 3000; i++) {
      byte[] m;
      switch (r.nextInt(3)) {
        case 0 -> m = Arrays.copyOf(valid, r.nextInt(100));
        case 1 -> {
          m = valid.clone();
          m[r.nextInt(m.length)] ^= (byte) (1 + r.nextInt(255));
        }
        default -> {
          m = new byte[r.nextBoolean() ? 65 : r.nextInt(80)];
          r.nextBytes(m);
          if (m.length > 0 && r.nextBoolean()) m[0] = 4;
        }
      }
      byte[] input = m;
      try {
        RecipientKey.decode(input);
      } catch (CustodyException expected) {
        assertTrue(
            !expected.getMessage().contains("\n")
                && expected.getMessage().startsWith("recipient public key"));
      }
      try {
        RecipientKeyPair.fromPrivate(Arrays.copyOf(input, Math.min(input.length, 33)), ACCESS)
            .destroy();
      } catch (CustodyException expected) {
        assertTrue(
            expected.getMessage().startsWith("a P-256 private key")
                || expected.getMessage().startsWith("the P-256"));
      }
    }
  }
}
