package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.keys.TestFixtures.APP_A;
import static org.teekms.keys.TestFixtures.POLICY_V3;

import java.security.SecureRandom;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RootKeyringTest {

  @Test
  void generationsMoveFromCurrentToRetainedToDestroyed() {
    try (RootKeyring ring = new RootKeyring(1, TestFixtures.rootSecret(1))) {
      assertEquals(Map.of(1, RootKeyring.GenerationState.CURRENT), ring.generations());
      ring.addCurrent(2, TestFixtures.rootSecret(2));
      assertEquals(2, ring.currentGeneration());
      assertEquals(
          Map.of(1, RootKeyring.GenerationState.RETIRED, 2, RootKeyring.GenerationState.CURRENT),
          ring.generations());
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      // retained: still derives
      kms.derive(KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)), POLICY_V3).destroy();
      ring.destroy(1);
      assertEquals(RootKeyring.GenerationState.DESTROYED, ring.generations().get(1));
      assertEquals(
          KeyRefusedException.Reason.GENERATION_DESTROYED,
          assertThrows(
                  KeyRefusedException.class,
                  () -> kms.derive(KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)), POLICY_V3))
              .reason());
      assertEquals(
          KeyRefusedException.Reason.GENERATION_DESTROYED,
          assertThrows(KeyRefusedException.class, () -> kms.kmsRootKey(1)).reason());
      assertEquals(
          KeyRefusedException.Reason.GENERATION_UNKNOWN,
          assertThrows(
                  KeyRefusedException.class,
                  () -> kms.appRootSecret(new VersionRef(3, APP_A, 1), POLICY_V3))
              .reason());
      // the current generation cannot be destroyed; numbers are never reused
      assertThrows(IllegalStateException.class, () -> ring.destroy(2));
      assertThrows(
          IllegalArgumentException.class, () -> ring.addCurrent(1, TestFixtures.rootSecret(1)));
      assertThrows(
          IllegalArgumentException.class, () -> ring.addCurrent(2, TestFixtures.rootSecret(1)));
      assertThrows(KeyRefusedException.class, () -> ring.destroy(7));
    }
  }

  @Test
  void rootSecretsAreValidated() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new RootKeyring(1, SecretBytes.random(16, new SecureRandom())));
    assertThrows(
        IllegalArgumentException.class, () -> new RootKeyring(0, TestFixtures.rootSecret(1)));
    SecretBytes dead = TestFixtures.rootSecret(1);
    dead.destroy();
    assertThrows(DestroyedSecretException.class, () -> new RootKeyring(1, dead));
    SecretBytes fresh = RootKeyring.generateRootSecret(new SecureRandom());
    assertEquals(32, fresh.length());
  }

  @Test
  void closeDestroysEverySecretItOwns() {
    SecretBytes s1 = TestFixtures.rootSecret(1);
    SecretBytes s2 = TestFixtures.rootSecret(2);
    RootKeyring ring = new RootKeyring(1, s1);
    ring.addCurrent(5, s2);
    ring.close();
    assertTrue(s1.isDestroyed() && s2.isDestroyed());
  }

  @Test
  void differentGenerationsGiveUnrelatedKeys() {
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      try (DerivedKey k1 = kms.kmsRootKey(1);
          DerivedKey k2 = kms.kmsRootKey(2)) {
        assertTrue(!k1.hasSameSecret(k2) && !k1.ethereumAddress().equals(k2.ethereumAddress()));
      }
    }
  }
}
