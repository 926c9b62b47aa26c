package org.teekms.kms.seal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.kms.roots.RootSealing;

class SealingTest {

  private static final byte[] SECRET = new byte[32];

  static {
    for (int i = 0; i < 32; i++) {
      SECRET[i] = (byte) (i * 7 + 1);
    }
  }

  @Test
  void rootSealRoundTripsAndIsBoundToKmsAndGeneration() {
    SealingKey key = new SealingKey(new byte[32]);
    byte[] sealed = RootSealing.seal(key, "kms-a", 3, SECRET);
    assertEquals(12 + 32 + 16, sealed.length);
    assertArrayEquals(SECRET, RootSealing.unseal(key, "kms-a", 3, sealed));
    assertThrows(
        SealingException.class,
        () -> RootSealing.unseal(key, "kms-a", 4, sealed),
        "other generation");
    assertThrows(
        SealingException.class, () -> RootSealing.unseal(key, "kms-b", 3, sealed), "other KMS");
    byte[] other = new byte[32];
    other[0] = 1;
    assertThrows(
        SealingException.class,
        () -> RootSealing.unseal(new SealingKey(other), "kms-a", 3, sealed),
        "other key");
    assertNotEquals(new SealingKey(other).keyId(), key.keyId());
    assertFalse(
        java.util.Arrays.equals(sealed, RootSealing.seal(key, "kms-a", 3, SECRET)),
        "fresh nonce each time");
  }

  @Test
  void mutatedOrTruncatedBlobsNeverUnseal() {
    SealingKey key = new SealingKey(new byte[32]);
    byte[] sealed = RootSealing.seal(key, "kms", 1, SECRET);
    Random random = new Random(42);
    for (int i = 0; i < 500; i++) {
      byte[] m = sealed.clone();
      int pos = random.nextInt(m.length);
      m[pos] ^= (byte) (1 + random.nextInt(255));
      assertThrows(SealingException.class, () -> RootSealing.unseal(key, "kms", 1, m));
    }
    for (int len = 0; len < sealed.length; len++) {
      byte[] t = java.util.Arrays.copyOf(sealed, len);
      assertThrows(SealingException.class, () -> RootSealing.unseal(key, "kms", 1, t));
    }
    byte[] longer = java.util.Arrays.copyOf(sealed, sealed.length + 1);
    assertThrows(SealingException.class, () -> RootSealing.unseal(key, "kms", 1, longer));
  }

  @Test
  void destroyedKeyIsUnusableAndNeverPrinted() {
    SealingKey key = new SealingKey(SECRET);
    assertFalse(key.toString().contains("0102"));
    key.destroy();
    assertTrue(key.isDestroyed());
    assertThrows(IllegalStateException.class, () -> key.seal(SECRET, new byte[0]));
  }

  @Test
  void fileProviderCreatesAPrivateKeyFileOnceAndRereadsIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("sub/sealing.key");
    FileSealingKeyProvider provider = new FileSealingKeyProvider(file);
    assertTrue(provider.simulated());
    String id = provider.sealingKey().keyId();
    assertEquals(id, new FileSealingKeyProvider(file).sealingKey().keyId());
    assertEquals(
        Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
        Files.getPosixFilePermissions(file));
    Files.write(file, new byte[31]);
    assertThrows(IllegalStateException.class, provider::sealingKey);
  }

  @Test
  void simulatorOnlyWithTheFlagAndNeverInProd() {
    assertDoesNotThrow(() -> SimulatorGuard.check("dev", true, SimulatorGuard.FILE_PROVIDER));
    assertDoesNotThrow(
        () -> SimulatorGuard.check("prod", false, SimulatorGuard.LOCAL_SGX_PROVIDER));
    assertThrows(
        IllegalStateException.class,
        () -> SimulatorGuard.check("prod", true, SimulatorGuard.FILE_PROVIDER));
    assertThrows(
        IllegalStateException.class,
        () -> SimulatorGuard.check("prod", true, SimulatorGuard.LOCAL_SGX_PROVIDER));
    assertThrows(
        IllegalStateException.class,
        () -> SimulatorGuard.check("dev", false, SimulatorGuard.FILE_PROVIDER));
    assertThrows(
        IllegalStateException.class, () -> SimulatorGuard.check("dev", true, "something-else"));
  }
}
