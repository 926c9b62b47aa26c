package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.keys.TestFixtures.APP_A;
import static org.teekms.keys.TestFixtures.APP_B;
import static org.teekms.keys.TestFixtures.INSTANCE_1;
import static org.teekms.keys.TestFixtures.POLICY_V3;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DerivationPropertiesTest {
  private static final InsecureSecretAccess ACCESS = InsecureSecretAccess.get();

  private static String secretHex(DerivedKey k) {
    return HexFormat.of().formatHex(k.privateKeyBytes(ACCESS));
  }

  /** One request per context field changed from a base, for every purpose/algorithm family. */
  private static List<KeyRequest> singleFieldVariants(KeyRequest base) {
    List<KeyRequest> out = new ArrayList<>();
    out.add(base);
    out.add(
        new KeyRequest(
            base.generation() + 1,
            base.purpose(),
            base.algorithm(),
            base.appId(),
            base.version(),
            base.path(),
            base.instanceId()));
    out.add(
        new KeyRequest(
            base.generation(),
            base.purpose(),
            base.algorithm(),
            APP_B,
            base.version(),
            base.path(),
            base.instanceId()));
    out.add(
        new KeyRequest(
            base.generation(),
            base.purpose(),
            base.algorithm(),
            base.appId(),
            base.version() + 1,
            base.path(),
            base.instanceId()));
    if (base.purpose() == Purpose.SIGNING
        || base.purpose() == Purpose.USER
        || base.purpose() == Purpose.DISK) {
      out.add(
          new KeyRequest(
              base.generation(),
              base.purpose(),
              base.algorithm(),
              base.appId(),
              base.version(),
              base.path() + "x",
              base.instanceId()));
    }
    if (base.instanceId() != null) {
      out.add(
          new KeyRequest(
              base.generation(),
              base.purpose(),
              base.algorithm(),
              base.appId(),
              base.version(),
              base.path(),
              InstanceId.fromHex("ff" + base.instanceId().toHex().substring(2))));
    }
    for (KeyAlgorithm a : KeyRequest.allowedAlgorithms(base.purpose())) {
      if (a != base.algorithm()) {
        out.add(
            new KeyRequest(
                base.generation(),
                base.purpose(),
                a,
                base.appId(),
                base.version(),
                base.path(),
                base.instanceId()));
      }
    }
    return out;
  }

  @Test
  void changingAnySingleContextFieldChangesTheKey() {
    List<KeyRequest> bases =
        List.of(
            KeyRequest.disk(new VersionRef(1, APP_A, 1), INSTANCE_1, "data"),
            KeyRequest.envEncryption(new VersionRef(1, APP_A, 1)),
            KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)),
            KeyRequest.signing(new VersionRef(1, APP_A, 1), KeyAlgorithm.SECP256K1, "w"),
            KeyRequest.signing(new VersionRef(1, APP_A, 1), KeyAlgorithm.ED25519, "w"),
            KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.RAW_256, "w"),
            KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.X25519, "w"),
            KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.P256, "w"));
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      for (KeyRequest base : bases) {
        Set<String> seen = new HashSet<>();
        List<KeyRequest> variants = singleFieldVariants(base);
        for (KeyRequest v : variants) {
          try (DerivedKey k = kms.derive(v, POLICY_V3)) {
            assertTrue(seen.add(secretHex(k)), () -> "collision for " + v);
          }
        }
        assertTrue(variants.size() >= 4, "generation, app, version and more for " + base);
      }
    }
  }

  @Test
  void purposeAndAlgorithmBothSeparate() {
    // same path, same version: secp256k1 vs ed25519 (the dstack pitfall), signing vs user
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      Set<String> seen = new HashSet<>();
      for (Purpose p : List.of(Purpose.SIGNING, Purpose.USER)) {
        for (KeyAlgorithm a : KeyRequest.allowedAlgorithms(p)) {
          try (DerivedKey k =
              kms.derive(new KeyRequest(1, p, a, APP_A, 1, "same/path", null), POLICY_V3)) {
            String first32 = secretHex(k).substring(0, 16);
            assertTrue(seen.add(first32), p + "/" + a);
          }
        }
      }
      assertEquals(8, seen.size());
      // purpose alone changes the key: every other field equal (empty path, no instance)
      Set<String> byPurpose = new HashSet<>();
      for (KeyRequest r :
          List.of(
              KeyRequest.envEncryption(new VersionRef(1, APP_A, 1)),
              KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.X25519, ""),
              KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)),
              KeyRequest.signing(new VersionRef(1, APP_A, 1), KeyAlgorithm.P256, ""),
              KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.P256, ""),
              KeyRequest.appRootSigning(new VersionRef(1, APP_A, 1)),
              KeyRequest.signing(new VersionRef(1, APP_A, 1), KeyAlgorithm.SECP256K1, ""),
              KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.RAW_256, ""))) {
        try (DerivedKey k = kms.derive(r, POLICY_V3)) {
          assertTrue(byPurpose.add(secretHex(k)), r::toString);
        }
      }
      try (AppRootSecret a = kms.appRootSecret(new VersionRef(1, APP_A, 1), POLICY_V3)) {
        assertTrue(
            byPurpose.add(HexFormat.of().formatHex(a.toByteArray(ACCESS))),
            "app-root raw-256 vs user raw-256");
      }
    }
  }

  @Test
  void ambiguousFieldSplitsGiveDifferentKeys() {
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      try (DerivedKey x =
              kms.derive(
                  KeyRequest.disk(new VersionRef(1, APP_A, 1), InstanceId.of("c".getBytes()), "ab"),
                  POLICY_V3);
          DerivedKey y =
              kms.derive(
                  KeyRequest.disk(new VersionRef(1, APP_A, 1), InstanceId.of("bc".getBytes()), "a"),
                  POLICY_V3)) {
        assertFalse(x.hasSameSecret(y));
      }
    }
  }

  @Test
  void manyDistinctContextsGiveDistinctKeys() {
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      Set<String> seen = new HashSet<>();
      int n = 0;
      for (int gen = 1; gen <= 2; gen++) {
        for (AppId app : List.of(APP_A, APP_B)) {
          for (int v = 1; v <= 3; v++) {
            for (String path : List.of("", "a", "ab", "a/b", "b", "ab/", "/ab")) {
              for (KeyAlgorithm alg : KeyAlgorithm.values()) {
                try (DerivedKey k =
                    kms.derive(
                        KeyRequest.user(new VersionRef(gen, app, v), alg, path), POLICY_V3)) {
                  assertTrue(seen.add(secretHex(k)));
                  n++;
                }
              }
            }
          }
        }
      }
      assertEquals(2 * 2 * 3 * 7 * 5, n);
    }
  }

  @Test
  void guestAgentDerivesTheSameBytesAsTheKms() {
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      try (AppRootSecret a = kms.appRootSecret(new VersionRef(2, APP_A, 2), POLICY_V3)) {
        AppKeyDeriver agent = new AppKeyDeriver(a);
        for (KeyAlgorithm alg : KeyAlgorithm.values()) {
          try (DerivedKey viaKms =
                  kms.derive(KeyRequest.user(new VersionRef(2, APP_A, 2), alg, "p"), POLICY_V3);
              DerivedKey viaAgent = agent.userKey(alg, "p")) {
            assertTrue(viaKms.hasSameSecret(viaAgent));
            if (alg.hasPublicKey()) {
              assertEquals(
                  HexFormat.of().formatHex(viaKms.publicKey()),
                  HexFormat.of().formatHex(viaAgent.publicKey()));
            }
          }
        }
        // a received copy of A (as the guest agent would hold it) derives the same
        try (AppRootSecret received =
                new AppRootSecret(
                    new VersionRef(2, APP_A, 2),
                    SecretBytes.copyOf(a.toByteArray(ACCESS), ACCESS));
            DerivedKey x = new AppKeyDeriver(received).appRootSigningKey();
            DerivedKey y =
                kms.derive(KeyRequest.appRootSigning(new VersionRef(2, APP_A, 2)), POLICY_V3)) {
          assertTrue(x.hasSameSecret(y));
          assertTrue(received.equalsSecret(a));
        }
      }
    }
  }

  @Test
  void appRootHolderCannotDeriveKmsTierOrOtherContexts() {
    try (RootKeyring ring = TestFixtures.keyring();
        AppRootSecret a =
            new KmsKeyDeriver(ring).appRootSecret(new VersionRef(1, APP_A, 1), POLICY_V3)) {
      AppKeyDeriver agent = new AppKeyDeriver(a);
      for (KeyRequest kmsOnly :
          List.of(
              KeyRequest.disk(new VersionRef(1, APP_A, 1), INSTANCE_1, ""),
              KeyRequest.envEncryption(new VersionRef(1, APP_A, 1)),
              KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)),
              KeyRequest.appRootSecret(new VersionRef(1, APP_A, 1)),
              KeyRequest.kmsRoot(1))) {
        KeyRefusedException e =
            assertThrows(KeyRefusedException.class, () -> agent.derive(kmsOnly));
        assertEquals(KeyRefusedException.Reason.WRONG_TIER, e.reason());
      }
      for (KeyRequest other :
          List.of(
              KeyRequest.user(new VersionRef(2, APP_A, 1), KeyAlgorithm.RAW_256, "p"),
              KeyRequest.user(new VersionRef(1, APP_B, 1), KeyAlgorithm.RAW_256, "p"),
              KeyRequest.user(new VersionRef(1, APP_A, 2), KeyAlgorithm.RAW_256, "p"))) {
        KeyRefusedException e = assertThrows(KeyRefusedException.class, () -> agent.derive(other));
        assertEquals(KeyRefusedException.Reason.CONTEXT_MISMATCH, e.reason());
      }
    }
  }

  @Test
  void scalarRuleStaysInRange() {
    for (Curves c : Curves.values()) {
      BigInteger n = c.n;
      byte[] zeros = new byte[48];
      byte[] ones = new byte[48];
      java.util.Arrays.fill(ones, (byte) 0xFF);
      assertEquals(BigInteger.ONE, c.scalarFromOkm(zeros));
      BigInteger max = c.scalarFromOkm(ones);
      assertTrue(max.signum() > 0 && max.compareTo(n) < 0);
      // c = n - 1 maps to 1, c = n - 2 maps to n - 1 (the largest scalar)
      assertEquals(BigInteger.ONE, c.scalarFromOkm(to48(n.subtract(BigInteger.ONE))));
      assertEquals(n.subtract(BigInteger.ONE), c.scalarFromOkm(to48(n.subtract(BigInteger.TWO))));
      assertEquals(BigInteger.ONE, c.scalarFromOkm(to48(n.subtract(BigInteger.ONE).shiftLeft(64))));
    }
  }

  private static byte[] to48(BigInteger v) {
    byte[] raw = v.toByteArray();
    byte[] out = new byte[48];
    int copy = Math.min(raw.length, 48);
    System.arraycopy(raw, raw.length - copy, out, 48 - copy, copy);
    return out;
  }

  @Test
  void destroyedKeysAndSecretsThrowOnUse() {
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      DerivedKey k =
          kms.derive(
              KeyRequest.signing(new VersionRef(1, APP_A, 1), KeyAlgorithm.SECP256K1, "w"),
              POLICY_V3);
      DerivedKey other =
          kms.derive(
              KeyRequest.signing(new VersionRef(1, APP_A, 1), KeyAlgorithm.SECP256K1, "w"),
              POLICY_V3);
      String pub = HexFormat.of().formatHex(k.publicKey());
      k.destroy();
      assertTrue(k.isDestroyed());
      DestroyedSecretException e =
          assertThrows(DestroyedSecretException.class, () -> k.privateKeyBytes(ACCESS));
      assertEquals("destroyed", e.getMessage());
      assertThrows(DestroyedSecretException.class, () -> k.signDigest(new byte[32]));
      assertThrows(DestroyedSecretException.class, () -> k.hasSameSecret(other));
      assertThrows(DestroyedSecretException.class, () -> other.hasSameSecret(k));
      assertEquals(pub, HexFormat.of().formatHex(k.publicKey()), "public part stays readable");
      assertTrue(k.toString().contains("destroyed"));

      DerivedKey disk =
          kms.derive(KeyRequest.disk(new VersionRef(1, APP_A, 1), INSTANCE_1, ""), POLICY_V3);
      disk.close();
      assertThrows(DestroyedSecretException.class, disk::luksPassphrase);

      AppRootSecret a = kms.appRootSecret(new VersionRef(1, APP_A, 1), POLICY_V3);
      a.destroy();
      assertThrows(
          DestroyedSecretException.class,
          () -> new AppKeyDeriver(a).userKey(KeyAlgorithm.RAW_256, "p"));
      assertThrows(DestroyedSecretException.class, () -> a.toByteArray(ACCESS));

      SecretBytes s = SecretBytes.copyOf(new byte[] {1, 2, 3}, ACCESS);
      s.destroy();
      assertThrows(DestroyedSecretException.class, () -> s.toByteArray(ACCESS));
      assertThrows(DestroyedSecretException.class, () -> s.equalsSecret(s));
      other.destroy();
    }
  }

  @Test
  void toStringNeverShowsSecretBytes() {
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      List<Object> things = new ArrayList<>();
      List<String> secrets = new ArrayList<>();
      for (KeyRequest r :
          List.of(
              KeyRequest.disk(new VersionRef(1, APP_A, 1), INSTANCE_1, "d"),
              KeyRequest.envEncryption(new VersionRef(1, APP_A, 1)),
              KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)),
              KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.ED25519, "p"))) {
        DerivedKey k = kms.derive(r, POLICY_V3);
        things.add(k);
        secrets.add(secretHex(k));
      }
      AppRootSecret a = kms.appRootSecret(new VersionRef(1, APP_A, 1), POLICY_V3);
      things.add(a);
      secrets.add(HexFormat.of().formatHex(a.toByteArray(ACCESS)));
      things.add(ring);
      secrets.add(TestFixtures.rootSecretHex(1));
      secrets.add(TestFixtures.rootSecretHex(2));
      SecretBytes s = TestFixtures.rootSecret(1);
      things.add(s);
      for (Object t : things) {
        String text = t.toString().toLowerCase();
        for (String secret : secrets) {
          assertFalse(
              text.contains(secret.substring(0, 16)),
              () -> "leak in " + t.getClass().getSimpleName());
        }
      }
      assertTrue(s.toString().contains("redacted"));
      assertNotEquals(s, TestFixtures.rootSecret(1), "SecretBytes equality is identity");
      assertTrue(s.equalsSecret(TestFixtures.rootSecret(1)));
      assertFalse(s.equalsSecret(TestFixtures.rootSecret(2)));
    }
  }

  @Test
  void luksPassphraseIsLowercaseHexOfTheDiskKey() {
    try (RootKeyring ring = TestFixtures.keyring();
        DerivedKey disk =
            new KmsKeyDeriver(ring)
                .derive(KeyRequest.disk(new VersionRef(1, APP_A, 1), INSTANCE_1, ""), POLICY_V3);
        SecretBytes pass = disk.luksPassphrase()) {
      String text =
          new String(pass.toByteArray(ACCESS), java.nio.charset.StandardCharsets.US_ASCII);
      assertEquals(64, text.length());
      assertEquals(secretHex(disk), text);
      assertThrows(UnsupportedOperationException.class, () -> disk.publicKey());
    }
  }
}
