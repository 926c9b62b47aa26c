package org.teekms.kms.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyRefusedException;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;
import org.teekms.keys.VersionRef;

class VersionKeyCacheTest {

  private static final byte[] APP = bytes(20, 7);
  private static final KeyVersionPolicy V1_V2 = new KeyVersionPolicy(2, 1, Set.of());

  private static byte[] bytes(int n, int fill) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) fill);
    return b;
  }

  private static java.util.Optional<InstanceId> instance(byte[] id) {
    return id.length == 0 ? java.util.Optional.empty() : java.util.Optional.of(InstanceId.of(id));
  }

  private static RootKeyring keyring() {
    return new RootKeyring(1, SecretBytes.random(32, new SecureRandom()));
  }

  private static void assertSame(ReleasedAppKeys want, ReleasedAppKeys got) {
    assertEquals(want.version(), got.version());
    assertEquals(want.generation(), got.generation());
    assertArrayEquals(want.diskKey().orElse(null), got.diskKey().orElse(null));
    assertArrayEquals(want.appRootSecret(), got.appRootSecret());
    assertEquals(want.appRootCertificate(), got.appRootCertificate());
    assertArrayEquals(want.envEncryptionKey(), got.envEncryptionKey());
    assertEquals(want.envEncryptionCertificate(), got.envEncryptionCertificate());
    assertArrayEquals(want.appCaKey(), got.appCaKey());
    assertEquals(want.appCaCertificate(), got.appCaCertificate());
    assertArrayEquals(want.appCaX509(), got.appCaX509());
    assertArrayEquals(want.kmsCaX509(), got.kmsCaX509());
  }

  @Test
  void hitsReleaseExactlyWhatDerivationReleasesWithEachInstancesOwnDiskKey() {
    KmsKeyDeriver deriver = new KmsKeyDeriver(keyring());
    VersionKeyCache cache = new VersionKeyCache(16, Duration.ofMinutes(10));
    for (int i = 0; i < 3; i++) {
      byte[] instance = bytes(20, 10 + i);
      ReleasedAppKeys cached =
          cache.issue(deriver, new VersionRef(1, AppId.of(APP), 2), instance(instance), V1_V2);
      assertSame(
          AppKeyIssuer.issue(
              deriver, new VersionRef(1, AppId.of(APP), 2), instance(instance), V1_V2),
          cached);
    }
    assertEquals(1, cache.misses());
    assertEquals(2, cache.hits());
    ReleasedAppKeys a =
        cache.issue(deriver, new VersionRef(1, AppId.of(APP), 2), instance(bytes(20, 1)), V1_V2);
    ReleasedAppKeys b =
        cache.issue(deriver, new VersionRef(1, AppId.of(APP), 2), instance(bytes(20, 2)), V1_V2);
    assertFalse(
        java.util.Arrays.equals(a.diskKey().orElseThrow(), b.diskKey().orElseThrow()),
        "disk keys per instance");
    assertSame(
        AppKeyIssuer.issue(
            deriver, new VersionRef(1, AppId.of(APP), 2), instance(new byte[0]), V1_V2),
        cache.issue(deriver, new VersionRef(1, AppId.of(APP), 2), instance(new byte[0]), V1_V2));
  }

  @Test
  void callersGetCopiesDestroyingThemLeavesTheCacheIntact() {
    KmsKeyDeriver deriver = new KmsKeyDeriver(keyring());
    VersionKeyCache cache = new VersionKeyCache(16, Duration.ofMinutes(10));
    ReleasedAppKeys first =
        cache.issue(deriver, new VersionRef(1, AppId.of(APP), 1), instance(bytes(20, 1)), V1_V2);
    first.destroy();
    assertSame(
        AppKeyIssuer.issue(
            deriver, new VersionRef(1, AppId.of(APP), 1), instance(bytes(20, 1)), V1_V2),
        cache.issue(deriver, new VersionRef(1, AppId.of(APP), 1), instance(bytes(20, 1)), V1_V2));
  }

  @Test
  void theVersionPolicyIsCheckedOnEveryHit() {
    KmsKeyDeriver deriver = new KmsKeyDeriver(keyring());
    VersionKeyCache cache = new VersionKeyCache(16, Duration.ofMinutes(10));
    cache.issue(deriver, new VersionRef(1, AppId.of(APP), 1), instance(bytes(20, 1)), V1_V2);
    KeyVersionPolicy raised = new KeyVersionPolicy(2, 2, Set.of());
    assertThrows(
        KeyRefusedException.class,
        () ->
            cache.issue(
                deriver, new VersionRef(1, AppId.of(APP), 1), instance(bytes(20, 1)), raised));
    assertThrows(
        KeyRefusedException.class,
        () ->
            cache.issue(
                deriver, new VersionRef(1, AppId.of(APP), 3), instance(bytes(20, 1)), V1_V2));
  }

  @Test
  void aDestroyedGenerationIsNeverServedAndItsEntriesAreDropped() {
    RootKeyring ring = keyring();
    KmsKeyDeriver deriver = new KmsKeyDeriver(ring);
    VersionKeyCache cache = new VersionKeyCache(16, Duration.ofMinutes(10));
    cache.issue(deriver, new VersionRef(1, AppId.of(APP), 1), instance(bytes(20, 1)), V1_V2);
    ring.addCurrent(2, SecretBytes.random(32, new SecureRandom()));
    cache.issue(
        deriver,
        new VersionRef(1, AppId.of(APP), 1),
        instance(bytes(20, 1)),
        V1_V2); // retained generation: still served
    assertEquals(1, cache.hits());
    ring.destroy(1);
    assertThrows(
        RuntimeException.class,
        () ->
            cache.issue(
                deriver, new VersionRef(1, AppId.of(APP), 1), instance(bytes(20, 1)), V1_V2));
    cache.issue(deriver, new VersionRef(2, AppId.of(APP), 2), instance(bytes(20, 1)), V1_V2);
    assertEquals(1, cache.size(), "generation 1's entry was zeroized and dropped");
  }

  @Test
  void boundedInSizeAndTime() {
    KmsKeyDeriver deriver = new KmsKeyDeriver(keyring());
    AtomicLong now = new AtomicLong();
    VersionKeyCache cache = new VersionKeyCache(2, Duration.ofSeconds(60), now::get);
    KeyVersionPolicy many = new KeyVersionPolicy(5, 1, Set.of());
    for (int v = 1; v <= 5; v++) {
      cache.issue(deriver, new VersionRef(1, AppId.of(APP), v), instance(bytes(20, 1)), many);
    }
    assertEquals(2, cache.size());
    assertEquals(3, cache.zeroizedEntries(), "the three evicted by size were zeroized");
    cache.issue(deriver, new VersionRef(1, AppId.of(APP), 5), instance(bytes(20, 1)), many);
    assertEquals(1, cache.hits());
    now.addAndGet(Duration.ofSeconds(61).toNanos());
    cache.issue(deriver, new VersionRef(1, AppId.of(APP), 5), instance(bytes(20, 1)), many);
    assertEquals(1, cache.hits(), "expired: derived again");
    VersionKeyCache off = new VersionKeyCache(0, Duration.ofSeconds(60));
    off.issue(deriver, new VersionRef(1, AppId.of(APP), 1), instance(bytes(20, 1)), many);
    off.issue(deriver, new VersionRef(1, AppId.of(APP), 1), instance(bytes(20, 1)), many);
    assertEquals(0, off.size());
    assertEquals(0, off.hits());
    assertTrue(cache.size() <= 2);
    cache.clear();
    assertEquals(0, cache.size());
    assertEquals(
        6,
        cache.zeroizedEntries(),
        "every entry ever stored (5, and 5 again after it expired) was zeroized");
  }
}
