package org.teekms.agent.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.RootAnchor;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;

class BootValuesCompareByValueTest {

  private static final String COMPOSE = "{\"name\":\"app\",\"key_provider\":\"kms\"}";

  private static <T> void assertEqualByValue(T a, T b, T different) {
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, different);
  }

  private static AppCompose compose(String json) {
    return AppCompose.parse(json.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] filled(int n, int fill) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) fill);
    return b;
  }

  @Test
  void composeFilesWithTheSameBytesAreEqual() {
    assertEqualByValue(
        compose(COMPOSE),
        compose(COMPOSE),
        compose("{\"name\":\"other\",\"key_provider\":\"kms\"}"));
  }

  @Test
  void cvmIdentitiesWithTheSameBytesAreEqual() {
    AppId app = AppId.of(filled(20, 1));
    InstanceId instance = InstanceId.of(filled(20, 2));
    assertEqualByValue(
        new CvmIdentity(app, instance, Bytes.copyOf(filled(32, 3)), compose(COMPOSE)),
        new CvmIdentity(app, instance, Bytes.copyOf(filled(32, 3)), compose(COMPOSE)),
        new CvmIdentity(app, instance, Bytes.copyOf(filled(32, 4)), compose(COMPOSE)));
  }

  @Test
  void publishedIdentityEntriesWithTheSameBytesAreEqual() {
    assertEqualByValue(
        new PublishedKmsIdentity.Entry(
            1, identity(filled(33, 1), filled(32, 2)), RootAnchor.State.CURRENT, 7, "0xab"),
        new PublishedKmsIdentity.Entry(
            1, identity(filled(33, 1), filled(32, 2)), RootAnchor.State.CURRENT, 7, "0xab"),
        new PublishedKmsIdentity.Entry(
            1, identity(filled(33, 1), filled(32, 9)), RootAnchor.State.CURRENT, 7, "0xab"));
  }

  /** Built from fresh arrays each time: equal only by value. */
  private static KmsRegistry.KmsIdentity identity(byte[] rootPublicKeys, byte[] caSha256) {
    return new KmsRegistry.KmsIdentity(
        Bytes.copyOf(rootPublicKeys), Bytes.copyOf(caSha256), Bytes.copyOf(filled(32, 5)), 3);
  }
}
