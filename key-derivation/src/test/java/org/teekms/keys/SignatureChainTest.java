package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.keys.TestFixtures.APP_A;
import static org.teekms.keys.TestFixtures.APP_B;
import static org.teekms.keys.TestFixtures.INSTANCE_1;
import static org.teekms.keys.TestFixtures.POLICY_V3;

import java.math.BigInteger;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.web3j.crypto.Sign;

class SignatureChainTest {

  private static SignatureChain chain(KmsKeyDeriver kms, KeyRequest r) {
    AppRootCertificate appRoot =
        kms.certifyAppRoot(new VersionRef(r.generation(), r.appId(), r.version()), POLICY_V3);
    try (AppRootSecret a =
            kms.appRootSecret(new VersionRef(r.generation(), r.appId(), r.version()), POLICY_V3);
        DerivedKey k = kms.derive(r, POLICY_V3)) {
      return new SignatureChain(appRoot, new AppKeyDeriver(a).certify(k));
    }
  }

  private static final List<KeyRequest> CERTIFIABLE =
      List.of(
          KeyRequest.envEncryption(new VersionRef(1, APP_A, 1)),
          KeyRequest.tlsCa(new VersionRef(1, APP_A, 2)),
          KeyRequest.signing(new VersionRef(2, APP_A, 1), KeyAlgorithm.SECP256K1, "wallet/0"),
          KeyRequest.signing(new VersionRef(2, APP_B, 3), KeyAlgorithm.P256, "tls"),
          KeyRequest.signing(new VersionRef(2, APP_B, 1), KeyAlgorithm.ED25519, "responses"),
          KeyRequest.user(new VersionRef(1, APP_B, 1), KeyAlgorithm.X25519, "box"));

  @Test
  void chainsVerifyAgainstTheTrustedKmsRoot() {
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      for (KeyRequest r : CERTIFIABLE) {
        SignatureChain c = chain(kms, r);
        try (DerivedKey root = kms.kmsRootKey(r.generation());
            DerivedKey otherRoot = kms.kmsRootKey(3 - r.generation())) {
          assertTrue(
              new SignatureChainVerifier(root.ethereumAddress()).verify(c).valid(), r::toString);
          SignatureChainVerifier.Result wrongRoot =
              new SignatureChainVerifier(otherRoot.ethereumAddress()).verify(c);
          assertEquals(SignatureChainVerifier.Failure.KMS_ROOT_MISMATCH, wrongRoot.failure());
        }
      }
    }
  }

  @Test
  void chainSignaturesRecoverWithWeb3j() {
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      SignatureChain c =
          chain(
              kms,
              KeyRequest.signing(new VersionRef(2, APP_A, 1), KeyAlgorithm.SECP256K1, "wallet/0"));
      try (DerivedKey root = kms.kmsRootKey(2)) {
        BigInteger kmsPub =
            Sign.signedMessageToKey(c.appRoot().message(), web3j(c.appRoot().kmsSignature()));
        assertEquals(
            new BigInteger(1, java.util.Arrays.copyOfRange(root.uncompressedPublicKey(), 1, 65)),
            kmsPub);
        BigInteger appPub =
            Sign.signedMessageToKey(c.key().message(), web3j(c.key().appRootSignature()));
        byte[] appRootUncompressed =
            Curves.SECP256K1
                .decodePoint(c.appRoot().appRootPublicKey().toByteArray())
                .getEncoded(false);
        assertEquals(
            new BigInteger(1, java.util.Arrays.copyOfRange(appRootUncompressed, 1, 65)), appPub);
      } catch (java.security.SignatureException e) {
        throw new AssertionError(e);
      }
    }
  }

  private static Sign.SignatureData web3j(EthSignature s) {
    byte[] b = s.toBytes();
    return new Sign.SignatureData(
        b[64], java.util.Arrays.copyOfRange(b, 0, 32), java.util.Arrays.copyOfRange(b, 32, 64));
  }

  @Test
  void guestAgentAndKmsIssueIdenticalCertificates() {
    try (RootKeyring r1 = TestFixtures.keyring();
        RootKeyring r2 = TestFixtures.keyring()) {
      KeyRequest r = KeyRequest.signing(new VersionRef(1, APP_A, 2), KeyAlgorithm.ED25519, "x");
      assertEquals(chain(new KmsKeyDeriver(r1), r), chain(new KmsKeyDeriver(r2), r));
    }
  }

  @Test
  void chainsAcrossAppsOrVersionsAreRefused() {
    try (RootKeyring ring = TestFixtures.keyring();
        DerivedKey root = new KmsKeyDeriver(ring).kmsRootKey(1)) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      SignatureChain a = chain(kms, KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)));
      SignatureChain b = chain(kms, KeyRequest.tlsCa(new VersionRef(1, APP_B, 1)));
      SignatureChain a2 = chain(kms, KeyRequest.tlsCa(new VersionRef(1, APP_A, 2)));
      SignatureChainVerifier v = new SignatureChainVerifier(root.ethereumAddress());
      assertEquals(
          SignatureChainVerifier.Failure.CONTEXT_MISMATCH,
          v.verify(new SignatureChain(a.appRoot(), b.key())).failure());
      assertEquals(
          SignatureChainVerifier.Failure.CONTEXT_MISMATCH,
          v.verify(new SignatureChain(a.appRoot(), a2.key())).failure());
      // B's app root certificate relabelled as A's: the KMS signature no longer matches
      AppRootCertificate forged =
          new AppRootCertificate(
              1, APP_A, 1, b.appRoot().appRootPublicKey(), b.appRoot().kmsSignature());
      assertFalse(v.verify(new SignatureChain(forged, a.key())).valid());
      // a key certificate whose path was changed after signing
      PurposeKeyCertificate k =
          chain(kms, KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.ED25519, "p")).key();
      PurposeKeyCertificate moved =
          new PurposeKeyCertificate(
              KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.ED25519, "q"),
              k.publicKey(),
              k.appRootSignature());
      SignatureChainVerifier.Result res = v.verify(new SignatureChain(a.appRoot(), moved));
      assertFalse(res.valid());
      assertTrue(
          res.failure() == SignatureChainVerifier.Failure.APP_ROOT_MISMATCH
              || res.failure() == SignatureChainVerifier.Failure.BAD_APP_ROOT_SIGNATURE,
          res::toString);
    }
  }

  @Test
  void seededMutationsNeverThrowAndNeverVerify() {
    Random rnd = new Random(20261124);
    try (RootKeyring ring = TestFixtures.keyring();
        DerivedKey root = new KmsKeyDeriver(ring).kmsRootKey(1)) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      SignatureChainVerifier v = new SignatureChainVerifier(root.ethereumAddress());
      List<SignatureChain> originals =
          List.of(
              chain(kms, KeyRequest.tlsCa(new VersionRef(1, APP_A, 1))),
              chain(kms, KeyRequest.envEncryption(new VersionRef(1, APP_B, 2))),
              chain(
                  kms,
                  KeyRequest.signing(new VersionRef(1, APP_A, 3), KeyAlgorithm.SECP256K1, "w")),
              chain(kms, KeyRequest.user(new VersionRef(1, APP_B, 1), KeyAlgorithm.ED25519, "e")));
      int tried = 0;
      for (int i = 0; i < 1500; i++) {
        SignatureChain c = originals.get(rnd.nextInt(originals.size()));
        assertTrue(v.verify(c).valid());
        SignatureChain m = mutate(c, rnd);
        if (m == null) {
          continue; // the mutation produced an unconstructible value (refused at construction)
        }
        tried++;
        assertFalse(v.verify(m).valid(), "mutation verified: " + m);
      }
      assertTrue(tried > 1000, "mutations tried: " + tried);
    }
  }

  private static SignatureChain mutate(SignatureChain c, Random rnd) {
    AppRootCertificate a = c.appRoot();
    PurposeKeyCertificate k = c.key();
    try {
      switch (rnd.nextInt(8)) {
        case 0 ->
            a =
                new AppRootCertificate(
                    a.generation(),
                    a.appId(),
                    a.version(),
                    Bytes.copyOf(flip(a.appRootPublicKey().toByteArray(), rnd)),
                    a.kmsSignature());
        case 1 ->
            a =
                new AppRootCertificate(
                    a.generation(),
                    a.appId(),
                    a.version(),
                    a.appRootPublicKey(),
                    EthSignature.fromBytes(flip(a.kmsSignature().toBytes(), rnd)));
        case 2 ->
            k =
                new PurposeKeyCertificate(
                    k.key(),
                    Bytes.copyOf(flip(k.publicKey().toByteArray(), rnd)),
                    k.appRootSignature());
        case 3 ->
            k =
                new PurposeKeyCertificate(
                    k.key(),
                    k.publicKey(),
                    EthSignature.fromBytes(flip(k.appRootSignature().toBytes(), rnd)));
        case 4 -> {
          AppId app = AppId.of(flip(a.appId().toBytes(), rnd));
          a =
              new AppRootCertificate(
                  a.generation(), app, a.version(), a.appRootPublicKey(), a.kmsSignature());
        }
        case 6 -> {
          KeyRequest r = k.key();
          k =
              new PurposeKeyCertificate(
                  new KeyRequest(
                      r.generation(),
                      r.purpose(),
                      r.algorithm(),
                      r.appId(),
                      r.version() + 1 + rnd.nextInt(3),
                      r.path(),
                      r.instanceId()),
                  k.publicKey(),
                  k.appRootSignature());
        }
        case 7 -> {
          KeyRequest r = k.key();
          k =
              new PurposeKeyCertificate(
                  new KeyRequest(
                      r.generation(),
                      r.purpose(),
                      r.algorithm(),
                      r.appId(),
                      r.version(),
                      r.path() + (char) ('a' + rnd.nextInt(26)),
                      r.instanceId()),
                  k.publicKey(),
                  k.appRootSignature());
        }
        default -> {
          KeyRequest r = k.key();
          k =
              new PurposeKeyCertificate(
                  new KeyRequest(
                      r.generation(),
                      r.purpose(),
                      r.algorithm(),
                      r.appId(),
                      r.version(),
                      r.path(),
                      r.instanceId()),
                  Bytes.copyOf(truncateOrExtend(k.publicKey().toByteArray(), rnd)),
                  k.appRootSignature());
        }
      }
      return new SignatureChain(a, k);
    } catch (IllegalArgumentException refused) {
      return null;
    }
  }

  private static byte[] flip(byte[] b, Random rnd) {
    byte[] c = b.clone();
    c[rnd.nextInt(c.length)] ^= (byte) (1 << rnd.nextInt(8));
    return c;
  }

  private static byte[] truncateOrExtend(byte[] b, Random rnd) {
    int len = rnd.nextBoolean() ? rnd.nextInt(b.length) : b.length + 1 + rnd.nextInt(40);
    byte[] c = new byte[len];
    System.arraycopy(b, 0, c, 0, Math.min(len, b.length));
    return c;
  }

  @Test
  void signatureEncodingRoundTrips() {
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      SignatureChain c = chain(kms, KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)));
      EthSignature s = c.appRoot().kmsSignature();
      assertEquals(s, EthSignature.fromHex(s.toHex()));
      assertArrayEquals(s.toBytes(), EthSignature.fromBytes(s.toBytes()).toBytes());
      assertTrue(s.v() == 27 || s.v() == 28);
      // raw keys have no public key and cannot be certified
      try (AppRootSecret a = kms.appRootSecret(new VersionRef(1, APP_A, 1), POLICY_V3);
          DerivedKey disk =
              kms.derive(
                  KeyRequest.disk(new VersionRef(1, APP_A, 1), INSTANCE_1, "data"), POLICY_V3)) {
        assertThrows(UnsupportedOperationException.class, () -> new AppKeyDeriver(a).certify(disk));
        assertThrows(
            IllegalArgumentException.class,
            () -> new PurposeKeyCertificate(disk.request(), Bytes.copyOf(new byte[32]), s));
      }
    }
  }
}
