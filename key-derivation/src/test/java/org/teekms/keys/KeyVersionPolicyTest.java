package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.keys.TestFixtures.APP_A;

import java.util.Set;
import org.junit.jupiter.api.Test;

class KeyVersionPolicyTest {

  private static void refused(KeyVersionPolicy p, int v, KeyRefusedException.Reason reason) {
    assertFalse(p.allows(v));
    assertEquals(reason, assertThrows(KeyRefusedException.class, () -> p.check(v)).reason());
  }

  @Test
  void servesExactlyTheAllowedVersions() {
    KeyVersionPolicy p =
        KeyVersionPolicy.initial()
            .rotate()
            .rotate()
            .rotate()
            .rotate() // current 5
            .withMinimum(2)
            .withdraw(3);
    assertEquals(new KeyVersionPolicy(5, 2, Set.of(3)), p);
    refused(p, 0, KeyRefusedException.Reason.VERSION_INVALID);
    refused(p, -1, KeyRefusedException.Reason.VERSION_INVALID);
    refused(p, 1, KeyRefusedException.Reason.VERSION_BELOW_MINIMUM);
    refused(p, 3, KeyRefusedException.Reason.VERSION_WITHDRAWN);
    refused(p, 6, KeyRefusedException.Reason.VERSION_NOT_YET_ISSUED);
    for (int v : new int[] {2, 4, 5}) {
      assertTrue(p.allows(v));
      p.check(v);
    }
  }

  @Test
  void invalidPoliciesAndTransitionsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new KeyVersionPolicy(1, 0, Set.of()));
    assertThrows(IllegalArgumentException.class, () -> new KeyVersionPolicy(2, 3, Set.of()));
    assertThrows(IllegalArgumentException.class, () -> new KeyVersionPolicy(2, 1, Set.of(2)));
    KeyVersionPolicy p = new KeyVersionPolicy(3, 2, Set.of());
    assertThrows(IllegalArgumentException.class, () -> p.withdraw(3));
    assertThrows(IllegalArgumentException.class, () -> p.withMinimum(1));
    assertThrows(IllegalArgumentException.class, () -> p.withMinimum(4));
    assertEquals(3, p.withMinimum(3).minimum());
  }

  @Test
  void kmsRefusesKeysAndAppRootsOutsideThePolicy() {
    KeyVersionPolicy p = new KeyVersionPolicy(3, 2, Set.of());
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      assertEquals(
          KeyRefusedException.Reason.VERSION_BELOW_MINIMUM,
          assertThrows(
                  KeyRefusedException.class,
                  () -> kms.derive(KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)), p))
              .reason());
      assertEquals(
          KeyRefusedException.Reason.VERSION_NOT_YET_ISSUED,
          assertThrows(
                  KeyRefusedException.class,
                  () ->
                      kms.derive(
                          KeyRequest.user(new VersionRef(1, APP_A, 4), KeyAlgorithm.RAW_256, "x"),
                          p))
              .reason());
      assertEquals(
          KeyRefusedException.Reason.VERSION_WITHDRAWN,
          assertThrows(
                  KeyRefusedException.class,
                  () -> kms.appRootSecret(new VersionRef(1, APP_A, 2), p.withdraw(2)))
              .reason());
      assertEquals(
          KeyRefusedException.Reason.VERSION_BELOW_MINIMUM,
          assertThrows(
                  KeyRefusedException.class,
                  () -> kms.certifyAppRoot(new VersionRef(1, APP_A, 1), p))
              .reason());
      assertEquals(
          KeyRefusedException.Reason.WRONG_TIER,
          assertThrows(KeyRefusedException.class, () -> kms.derive(KeyRequest.kmsRoot(1), p))
              .reason());
      kms.derive(KeyRequest.tlsCa(new VersionRef(1, APP_A, 2)), p).destroy();
    }
  }

  @Test
  void rotationIsDeterministicAcrossReplicas() {
    // two replicas holding the same root, rotating independently, derive identical new-version keys
    KeyVersionPolicy rotated = KeyVersionPolicy.initial().rotate();
    try (RootKeyring r1 = TestFixtures.keyring();
        RootKeyring r2 = TestFixtures.keyring();
        DerivedKey k1 =
            new KmsKeyDeriver(r1)
                .derive(
                    KeyRequest.signing(
                        new VersionRef(2, APP_A, rotated.current()), KeyAlgorithm.P256, "s"),
                    rotated);
        DerivedKey k2 =
            new KmsKeyDeriver(r2)
                .derive(
                    KeyRequest.signing(
                        new VersionRef(2, APP_A, rotated.current()), KeyAlgorithm.P256, "s"),
                    rotated);
        DerivedKey old =
            new KmsKeyDeriver(r1)
                .derive(
                    KeyRequest.signing(new VersionRef(2, APP_A, 1), KeyAlgorithm.P256, "s"),
                    rotated)) {
      assertTrue(k1.hasSameSecret(k2));
      assertFalse(k1.hasSameSecret(old));
    }
  }
}
