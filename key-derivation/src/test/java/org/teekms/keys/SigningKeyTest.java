package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.junit.jupiter.api.Test;
import org.web3j.crypto.ECKeyPair;
import org.web3j.crypto.Sign;

/**
 * The one signer per algorithm: determinism, cross-checks against JCA and web3j, and verifiers that
 * never throw.
 */
class SigningKeyTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final byte[] MESSAGE = "tee-kms signing test".getBytes(StandardCharsets.UTF_8);

  private static DerivedKey key(KeyAlgorithm algorithm) {
    try (SecretBytes root = TestFixtures.rootSecret(1)) {
      return DerivedKey.derive(
          root,
          KeyRequest.user(new VersionRef(1, TestFixtures.APP_A, 1), algorithm, "signing-test"));
    }
  }

  @Test
  void eachSigningAlgorithmHasItsOwnSignerAndVerifier() {
    for (KeyAlgorithm a :
        new KeyAlgorithm[] {KeyAlgorithm.SECP256K1, KeyAlgorithm.P256, KeyAlgorithm.ED25519}) {
      try (DerivedKey k = key(a)) {
        SigningKey signer = k.signer();
        assertEquals(a, signer.algorithm());
        assertArrayEquals(k.publicKey(), signer.publicKey());
        byte[] sig = signer.sign(MESSAGE);
        assertEquals(64, sig.length, a.label());
        assertArrayEquals(sig, signer.sign(MESSAGE), a.label() + " is deterministic");
        assertTrue(SigningKey.verify(a, k.publicKey(), MESSAGE, sig), a.label());
        assertFalse(
            SigningKey.verify(a, k.publicKey(), "other".getBytes(StandardCharsets.UTF_8), sig));
      }
    }
  }

  @Test
  void keysThatDoNotSignHaveNoSigner() {
    try (DerivedKey x = key(KeyAlgorithm.X25519);
        DerivedKey raw = key(KeyAlgorithm.RAW_256);
        DerivedKey ed = key(KeyAlgorithm.ED25519)) {
      assertThrows(UnsupportedOperationException.class, x::signer);
      assertThrows(UnsupportedOperationException.class, raw::signer);
      assertThrows(UnsupportedOperationException.class, ed::secp256k1Signer);
      assertThrows(
          IllegalArgumentException.class,
          () -> SigningKey.verify(KeyAlgorithm.X25519, new byte[32], MESSAGE, new byte[64]));
    }
  }

  @Test
  void closingTheSignerZeroizesTheDerivedKey() {
    DerivedKey k = key(KeyAlgorithm.SECP256K1);
    Secp256k1SigningKey signer = k.secp256k1Signer();
    signer.close();
    assertTrue(k.isDestroyed());
    assertThrows(DestroyedSecretException.class, () -> signer.sign(MESSAGE));
    assertThrows(DestroyedSecretException.class, () -> k.signMessage(MESSAGE));
    assertFalse(signer.toString().contains(HEX.formatHex(new byte[32])));
  }

  @Test
  void secp256k1SignaturesEqualWeb3js() throws Exception {
    try (DerivedKey k = key(KeyAlgorithm.SECP256K1)) {
      Secp256k1SigningKey signer = k.secp256k1Signer();
      ECKeyPair pair =
          ECKeyPair.create(new BigInteger(1, k.privateKeyBytes(InsecureSecretAccess.get())));
      // dstack k256: r || s of SHA-256(message).
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(MESSAGE);
      Sign.SignatureData plain = Sign.signMessage(digest, pair, false);
      assertArrayEquals(concat(plain.getR(), plain.getS()), signer.sign(MESSAGE));
      assertArrayEquals(signer.sign(MESSAGE), signer.signPrehashed(digest));
      // EIP-191 personal_sign: r || s || v.
      Sign.SignatureData personal = Sign.signPrefixedMessage(MESSAGE, pair);
      assertArrayEquals(
          concat(concat(personal.getR(), personal.getS()), personal.getV()),
          signer.signPersonalMessage(MESSAGE).toBytes());
      assertArrayEquals(
          Sign.getEthereumMessageHash(MESSAGE),
          EthereumAddress.keccak256(Secp256k1SigningKey.personalMessage(MESSAGE)));
      assertEquals(
          signer.address(),
          Secp256k1SigningKey.recoverPersonalSigner(MESSAGE, signer.signPersonalMessage(MESSAGE))
              .orElseThrow());
      // A signer from a key file gives the same signatures as the derived key.
      try (Secp256k1SigningKey fromFile =
          Secp256k1SigningKey.fromPrivateKey(
              k.privateKeyBytes(InsecureSecretAccess.get()), InsecureSecretAccess.get())) {
        assertArrayEquals(signer.sign(MESSAGE), fromFile.sign(MESSAGE));
        assertEquals(signer.address(), fromFile.address());
      }
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> Secp256k1SigningKey.fromPrivateKey(new byte[32], InsecureSecretAccess.get()));
    assertThrows(
        IllegalArgumentException.class,
        () -> Secp256k1SigningKey.fromPrivateKey(new byte[31], InsecureSecretAccess.get()));
  }

  @Test
  void p256SignaturesVerifyWithTheJdk() throws Exception {
    try (DerivedKey k = key(KeyAlgorithm.P256)) {
      P256SigningKey signer = k.p256Signer();
      SubjectPublicKeyInfo spki =
          new SubjectPublicKeyInfo(
              new AlgorithmIdentifier(
                  X9ObjectIdentifiers.id_ecPublicKey, SECObjectIdentifiers.secp256r1),
              k.uncompressedPublicKey());
      Signature jdk = Signature.getInstance("SHA256withECDSA", "SunEC");
      jdk.initVerify(
          KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(spki.getEncoded())));
      jdk.update(MESSAGE);
      assertTrue(jdk.verify(signer.signDer(MESSAGE)));
      byte[] rs = signer.sign(MESSAGE);
      ASN1Sequence der = ASN1Sequence.getInstance(signer.signDer(MESSAGE));
      assertEquals(
          new BigInteger(1, Arrays.copyOfRange(rs, 0, 32)),
          ASN1Integer.getInstance(der.getObjectAt(0)).getValue(),
          "r");
      assertEquals(
          new BigInteger(1, Arrays.copyOfRange(rs, 32, 64)),
          ASN1Integer.getInstance(der.getObjectAt(1)).getValue(),
          "s");
    }
  }

  @Test
  void ed25519MatchesRfc8032TestVector1() {
    // RFC 8032 §7.1 TEST 1: empty message.
    byte[] seed = HEX.parseHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    byte[] pub = HEX.parseHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    byte[] sig =
        HEX.parseHex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    try (Ed25519SigningKey k =
        new Ed25519SigningKey(SecretBytes.copyOf(seed, InsecureSecretAccess.get()), pub)) {
      assertArrayEquals(sig, k.sign(new byte[0]));
    }
    assertTrue(Ed25519SigningKey.verify(pub, new byte[0], sig));
  }

  @Test
  void verifiersRefuseMutatedTruncatedAndRandomInputWithoutThrowing() {
    Random random = new Random(20261202);
    for (KeyAlgorithm a :
        new KeyAlgorithm[] {KeyAlgorithm.SECP256K1, KeyAlgorithm.P256, KeyAlgorithm.ED25519}) {
      try (DerivedKey k = key(a)) {
        byte[] pub = k.publicKey();
        byte[] sig = k.signer().sign(MESSAGE);
        for (int i = 0; i < sig.length * 8; i += 7) {
          byte[] flipped = sig.clone();
          flipped[i / 8] ^= (byte) (1 << (i % 8));
          assertFalse(SigningKey.verify(a, pub, MESSAGE, flipped), a.label() + " bit " + i);
        }
        assertFalse(SigningKey.verify(a, pub, MESSAGE, Arrays.copyOf(sig, 63)));
        assertFalse(SigningKey.verify(a, pub, MESSAGE, Arrays.copyOf(sig, 65)));
        assertFalse(SigningKey.verify(a, Arrays.copyOf(pub, pub.length - 1), MESSAGE, sig));
        assertFalse(SigningKey.verify(a, pub, MESSAGE, null));
        assertFalse(SigningKey.verify(a, null, MESSAGE, sig));
        assertFalse(SigningKey.verify(a, new byte[pub.length], MESSAGE, sig), "all-zero key");
        for (int i = 0; i < 200; i++) {
          byte[] p = new byte[random.nextInt(70)];
          byte[] s = new byte[random.nextBoolean() ? 64 : random.nextInt(70)];
          random.nextBytes(p);
          random.nextBytes(s);
          if (random.nextBoolean() && p.length > 0) {
            p[0] = (byte) (2 + random.nextInt(2));
          }
          assertFalse(SigningKey.verify(a, p, MESSAGE, s), a.label() + " random input " + i);
        }
      }
    }
    assertFalse(Secp256k1SigningKey.verifyPrehashed(new byte[33], new byte[31], new byte[64]));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
