package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.keys.TestFixtures.APP_A;
import static org.teekms.keys.TestFixtures.INSTANCE_1;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class KeyRequestContextTest {

  @Test
  void contextEncodingIsExactlyTheSpec() {
    KeyRequest r = KeyRequest.signing(new VersionRef(7, APP_A, 3), KeyAlgorithm.ED25519, "ab");
    String expected =
        "000a"
            + HexFormat.of().formatHex("tee-kms/v1".getBytes())
            + "0004"
            + "00000007"
            + "0007"
            + HexFormat.of().formatHex("signing".getBytes())
            + "0007"
            + HexFormat.of().formatHex("ed25519".getBytes())
            + "0014"
            + APP_A.toHex()
            + "0004"
            + "00000003"
            + "0002"
            + "6162"
            + "0000";
    assertEquals(expected, HexFormat.of().formatHex(r.context()));
  }

  @Test
  void ambiguousConcatenationsEncodeDifferently() {
    // path "ab" + instance "c" vs path "a" + instance "bc": same naive concatenation
    KeyRequest x =
        KeyRequest.disk(new VersionRef(1, APP_A, 1), InstanceId.of("c".getBytes()), "ab");
    KeyRequest y =
        KeyRequest.disk(new VersionRef(1, APP_A, 1), InstanceId.of("bc".getBytes()), "a");
    assertFalse(java.util.Arrays.equals(x.context(), y.context()));
    // the same at the field-encoder level
    assertFalse(
        java.util.Arrays.equals(
            new LengthPrefixed().ascii("ab").ascii("c").toByteArray(),
            new LengthPrefixed().ascii("a").ascii("bc").toByteArray()));
    assertFalse(
        java.util.Arrays.equals(
            new LengthPrefixed().ascii("").ascii("abc").toByteArray(),
            new LengthPrefixed().ascii("abc").ascii("").toByteArray()));
  }

  @Test
  void tiers() {
    assertTrue(KeyRequest.kmsRoot(1).isKmsTier());
    assertTrue(KeyRequest.appRootSecret(new VersionRef(1, APP_A, 1)).isKmsTier());
    assertFalse(KeyRequest.appRootSigning(new VersionRef(1, APP_A, 1)).isKmsTier());
    assertTrue(KeyRequest.disk(new VersionRef(1, APP_A, 1), INSTANCE_1, "").isKmsTier());
    assertTrue(KeyRequest.envEncryption(new VersionRef(1, APP_A, 1)).isKmsTier());
    assertTrue(KeyRequest.tlsCa(new VersionRef(1, APP_A, 1)).isKmsTier());
    assertFalse(
        KeyRequest.signing(new VersionRef(1, APP_A, 1), KeyAlgorithm.P256, "x").isKmsTier());
    assertFalse(
        KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.RAW_256, "x").isKmsTier());
  }

  @Test
  void invalidRequestsNameTheField() {
    assertMessage("generation", () -> KeyRequest.kmsRoot(0));
    assertMessage("version", () -> KeyRequest.tlsCa(new VersionRef(1, APP_A, 0)));
    assertMessage(
        "algorithm x25519 is not allowed for purpose signing",
        () -> KeyRequest.signing(new VersionRef(1, APP_A, 1), KeyAlgorithm.X25519, "p"));
    assertMessage(
        "algorithm raw-256 is not allowed for purpose tls-ca",
        () -> new KeyRequest(1, Purpose.TLS_CA, KeyAlgorithm.RAW_256, APP_A, 1, "", null));
    assertMessage(
        "path must be empty",
        () -> new KeyRequest(1, Purpose.TLS_CA, KeyAlgorithm.P256, APP_A, 1, "x", null));
    assertMessage("instanceId", () -> KeyRequest.disk(new VersionRef(1, APP_A, 1), null, ""));
    assertMessage(
        "instanceId must be absent",
        () -> new KeyRequest(1, Purpose.USER, KeyAlgorithm.RAW_256, APP_A, 1, "p", INSTANCE_1));
    assertMessage(
        "appId must be absent",
        () -> new KeyRequest(1, Purpose.KMS_ROOT, KeyAlgorithm.SECP256K1, APP_A, 0, "", null));
    assertMessage(
        "appId", () -> KeyRequest.user(new VersionRef(1, null, 1), KeyAlgorithm.RAW_256, "p"));
    assertMessage(
        "path longer",
        () -> KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.RAW_256, "x".repeat(1025)));
    assertMessage(
        "NUL", () -> KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.RAW_256, "a\0b"));
    assertMessage(
        "surrogate",
        () -> KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.RAW_256, "a\ud800"));
    assertMessage("appId must be 20 bytes", () -> AppId.of(new byte[19]));
    assertMessage("instanceId must be 1..64", () -> InstanceId.of(new byte[0]));
    assertMessage("instanceId must be 1..64", () -> InstanceId.of(new byte[65]));
    assertMessage("not valid hex", () -> AppId.fromHex("zz".repeat(20)));
    // the longest legal path is accepted
    KeyRequest.user(new VersionRef(1, APP_A, 1), KeyAlgorithm.RAW_256, "x".repeat(1024));
  }

  private static void assertMessage(String fragment, Runnable r) {
    RuntimeException e = assertThrows(RuntimeException.class, r::run);
    assertTrue(
        e.getMessage().contains(fragment),
        () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
  }

  @Test
  void labelsRoundTrip() {
    for (Purpose p : Purpose.values()) {
      assertEquals(p, Purpose.fromLabel(p.label()));
    }
    for (KeyAlgorithm a : KeyAlgorithm.values()) {
      assertEquals(a, KeyAlgorithm.fromLabel(a.label()));
    }
    assertThrows(IllegalArgumentException.class, () -> Purpose.fromLabel("Disk"));
    assertArrayEquals(APP_A.toBytes(), AppId.fromHex("0x" + APP_A.toHex().toUpperCase()).toBytes());
  }
}
