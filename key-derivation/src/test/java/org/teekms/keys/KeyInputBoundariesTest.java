package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The exact edges of the key-version, signature and input-length rules, each tested on both sides
 * (found by PIT: boundary and removed-check mutants that survived the other tests,
 * docs/reliability.md §5).
 */
class KeyInputBoundariesTest {

  private static DerivedKey key(KeyAlgorithm algorithm) {
    try (SecretBytes root = TestFixtures.rootSecret(1)) {
      return DerivedKey.derive(
          root, KeyRequest.user(new VersionRef(1, TestFixtures.APP_A, 1), algorithm, "edges"));
    }
  }

  @Test
  void theMinimumAndTheCurrentVersionAreServedAndTheirNeighboursOutsideAreNot() {
    KeyVersionPolicy p = new KeyVersionPolicy(5, 3, Set.of());
    assertTrue(p.allows(3));
    assertTrue(p.allows(5));
    assertFalse(p.allows(2));
    assertFalse(p.allows(6));
  }

  @Test
  void onlyVersionsFromOneToBelowCurrentCanBeWithdrawnAndTheErrorNamesThatRange() {
    KeyVersionPolicy p = new KeyVersionPolicy(3, 1, Set.of());
    assertFalse(p.withdraw(1).allows(1));
    assertFalse(p.withdraw(2).allows(2));
    IllegalArgumentException current =
        assertThrows(IllegalArgumentException.class, () -> p.withdraw(3));
    assertEquals("only versions 1..2 can be withdrawn, got 3", current.getMessage());
    assertThrows(IllegalArgumentException.class, () -> p.withdraw(0));
  }

  @Test
  void theMinimumMayStayWhereItIsButNeverGoDown() {
    KeyVersionPolicy p = new KeyVersionPolicy(4, 2, Set.of());
    assertTrue(p.withMinimum(2).allows(2));
    assertFalse(p.withMinimum(3).allows(2));
    assertThrows(IllegalArgumentException.class, () -> p.withMinimum(1));
  }

  @Test
  void signingOrRecoveringADigestThatIsNot32BytesIsRefused() {
    BigInteger d = BigInteger.valueOf(12345);
    EthSignature good = Secp256k1.signDigest(d, new byte[32]);
    assertThrows(IllegalArgumentException.class, () -> Secp256k1.signDigest(d, new byte[31]));
    assertThrows(IllegalArgumentException.class, () -> Secp256k1.signDigest(d, new byte[33]));
    assertThrows(
        IllegalArgumentException.class, () -> Secp256k1.recoverPublicKey(new byte[31], good));
    assertThrows(
        IllegalArgumentException.class, () -> Secp256k1.recoverPublicKey(new byte[33], good));
  }

  @Test
  void recoveryAcceptsSUpToHalfTheOrderAndRefusesOneAbove() {
    EthSignature good = Secp256k1.signDigest(BigInteger.valueOf(12345), new byte[32]);
    EthSignature atHalf = new EthSignature(good.r(), Secp256k1.HALF_N, good.v());
    EthSignature aboveHalf =
        new EthSignature(good.r(), Secp256k1.HALF_N.add(BigInteger.ONE), good.v());
    assertTrue(Secp256k1.recoverPublicKey(new byte[32], atHalf).isPresent());
    assertTrue(Secp256k1.recoverPublicKey(new byte[32], aboveHalf).isEmpty());
    assertTrue(
        Secp256k1.recoverPublicKey(new byte[32], new EthSignature(Secp256k1.N, good.s(), good.v()))
            .isEmpty());
    assertTrue(
        Secp256k1.recoverPublicKey(new byte[32], new EthSignature(good.r(), good.s(), 26))
            .isEmpty());
    assertTrue(
        Secp256k1.recoverPublicKey(new byte[32], new EthSignature(good.r(), good.s(), 29))
            .isEmpty());
  }

  @Test
  void signatureComponentsMustBeUnsigned256BitAndVOneByte() {
    BigInteger max = BigInteger.ONE.shiftLeft(256).subtract(BigInteger.ONE);
    assertEquals(max, new EthSignature(max, max, 255).r());
    assertEquals(BigInteger.ZERO, new EthSignature(BigInteger.ZERO, BigInteger.ZERO, 0).s());
    assertThrows(
        IllegalArgumentException.class, () -> new EthSignature(max.add(BigInteger.ONE), max, 27));
    assertThrows(
        IllegalArgumentException.class, () -> new EthSignature(max, max.add(BigInteger.ONE), 27));
    assertThrows(
        IllegalArgumentException.class, () -> new EthSignature(BigInteger.ONE.negate(), max, 27));
    assertThrows(
        IllegalArgumentException.class, () -> new EthSignature(max, BigInteger.ONE.negate(), 27));
    assertThrows(IllegalArgumentException.class, () -> new EthSignature(max, max, 256));
    assertThrows(IllegalArgumentException.class, () -> new EthSignature(max, max, -1));
  }

  @Test
  void dstackEnvKeyMessagesTakeOnlyA32ByteX25519Key() {
    assertEquals(
        26 + 20 + 8 + 32,
        DstackEnvKeySignature.message(TestFixtures.APP_A, 1, new byte[32]).length);
    assertEquals(
        26 + 20 + 32, DstackEnvKeySignature.legacyMessage(TestFixtures.APP_A, new byte[32]).length);
    assertThrows(
        IllegalArgumentException.class,
        () -> DstackEnvKeySignature.message(TestFixtures.APP_A, 1, new byte[31]));
    assertThrows(
        IllegalArgumentException.class,
        () -> DstackEnvKeySignature.legacyMessage(TestFixtures.APP_A, new byte[31]));
  }

  @Test
  void anEthereumAddressOrAP256SignerIsRefusedForAKeyOfAnotherAlgorithm() {
    try (DerivedKey p256 = key(KeyAlgorithm.P256);
        DerivedKey k1 = key(KeyAlgorithm.SECP256K1);
        DerivedKey ed = key(KeyAlgorithm.ED25519)) {
      assertThrows(UnsupportedOperationException.class, p256::ethereumAddress);
      assertThrows(UnsupportedOperationException.class, k1::p256Signer);
      assertThrows(UnsupportedOperationException.class, k1::ed25519Signer);
      assertEquals(32, ed.ed25519Signer().publicKey().length);
    }
  }
}
