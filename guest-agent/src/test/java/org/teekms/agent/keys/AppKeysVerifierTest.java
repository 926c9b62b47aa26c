package org.teekms.agent.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.teekms.agent.TestKmsAccess;
import org.teekms.keys.AppId;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.proto.AppKeys;
import org.teekms.proto.GetAppKeysResponse;

/**
 * A key release is used only if every part of it checks out; each tampering is refused with its
 * reason.
 */
class AppKeysVerifierTest {
  static final AppId APP = AppId.fromHex("11".repeat(20));
  static final InstanceId INSTANCE = InstanceId.fromHex("22".repeat(20));
  final KmsKeyDeriver kms =
      new KmsKeyDeriver(new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom())));
  final KeyVersionPolicy policy = KeyVersionPolicy.initial().rotate();

  GetAppKeysResponse release() {
    return GetAppKeysResponse.newBuilder()
        .setAppId(ByteString.copyFrom(APP.toBytes()))
        .setInstanceId(ByteString.copyFrom(INSTANCE.toBytes()))
        .setCurrentVersion(2)
        .setMinVersion(1)
        .setGrantId("g")
        .addKeys(TestKmsAccess.keys(kms, APP, INSTANCE.toBytes(), 1, policy))
        .addKeys(TestKmsAccess.keys(kms, APP, INSTANCE.toBytes(), 2, policy))
        .build();
  }

  EthereumAddress root() {
    try (var k = kms.kmsRootKey(1)) {
      return k.ethereumAddress();
    }
  }

  String refused(GetAppKeysResponse r, Optional<EthereumAddress> pin) {
    return assertThrows(
            AppKeysVerifier.KeysRejected.class, () -> AppKeysVerifier.verify(r, APP, INSTANCE, pin))
        .getMessage();
  }

  GetAppKeysResponse editKeys(int index, UnaryOperator<AppKeys.Builder> edit) {
    GetAppKeysResponse r = release();
    return r.toBuilder().setKeys(index, edit.apply(r.getKeys(index).toBuilder())).build();
  }

  static ByteString flip(ByteString b, int i) {
    byte[] a = b.toByteArray();
    a[i] ^= 1;
    return ByteString.copyFrom(a);
  }

  @Test
  void anHonestReleaseIsAccepted() throws Exception {
    try (AgentKeys keys = AppKeysVerifier.verify(release(), APP, INSTANCE, Optional.of(root()))) {
      assertEquals(2, keys.currentVersion());
      assertEquals(root(), keys.kmsRootAddress());
      assertEquals(2, keys.versions().size());
      assertTrue(keys.toString().contains("redacted"));
    }
  }

  @Test
  void afterARootRotationVersionsOfTwoGenerationsEachCarryTheirOwnRoot() throws Exception {
    RootKeyring ring = new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom()));
    ring.addCurrent(2, RootKeyring.generateRootSecret(new SecureRandom()));
    KmsKeyDeriver rotated = new KmsKeyDeriver(ring);
    GetAppKeysResponse spanning =
        GetAppKeysResponse.newBuilder()
            .setAppId(ByteString.copyFrom(APP.toBytes()))
            .setInstanceId(ByteString.copyFrom(INSTANCE.toBytes()))
            .setCurrentVersion(2)
            .setMinVersion(1)
            .setGrantId("g")
            .addKeys(TestKmsAccess.keys(rotated, APP, INSTANCE.toBytes(), 1, policy, 1))
            .addKeys(TestKmsAccess.keys(rotated, APP, INSTANCE.toBytes(), 2, policy, 2))
            .build();
    EthereumAddress root1;
    EthereumAddress root2;
    try (var k1 = rotated.kmsRootKey(1);
        var k2 = rotated.kmsRootKey(2)) {
      root1 = k1.ethereumAddress();
      root2 = k2.ethereumAddress();
    }
    try (AgentKeys keys = AppKeysVerifier.verify(spanning, APP, INSTANCE, Optional.empty())) {
      assertEquals(root2, keys.kmsRootAddress(), "the current version's root");
      assertEquals(java.util.Map.of(1, root1, 2, root2), keys.kmsRoots());
    }
    // A pin names one root: the version certified by the other generation's root is refused.
    assertTrue(
        refused(spanning, Optional.of(root1))
            .contains("version 2: app root key is not certified by the pinned " + "KMS root"));
  }

  @Test
  void everyBitOfTheKmsSignatureMatters() {
    for (int i = 0; i < 65; i++) {
      int at = i;
      GetAppKeysResponse r =
          editKeys(
              0,
              k ->
                  k.setAppRootCertificate(
                      k.getAppRootCertificate().toBuilder()
                          .setKmsSignature(flip(k.getAppRootCertificate().getKmsSignature(), at))));
      assertTrue(
          refused(r, Optional.of(root())).contains("not certified by the pinned KMS root"),
          "byte " + i);
      // unpinned, a flipped signature recovers another signer or none: either way not the root of
      // version 2
      String unpinned = refused(r, Optional.empty());
      assertTrue(
          unpinned.contains("different KMS roots")
              || unpinned.contains("signature on the app root key is invalid"),
          unpinned);
    }
  }

  @Test
  void everyTamperingIsRefused() {
    assertTrue(
        refused(
                release().toBuilder().setAppId(ByteString.copyFrom(new byte[20])).build(),
                Optional.empty())
            .contains("keys are for app"));
    assertTrue(
        refused(
                release().toBuilder().setInstanceId(ByteString.copyFrom(new byte[20])).build(),
                Optional.empty())
            .contains("keys are for instance"));
    assertTrue(
        refused(release().toBuilder().clearKeys().build(), Optional.empty())
            .contains("no key version"));
    assertTrue(
        refused(release().toBuilder().setCurrentVersion(3).build(), Optional.empty())
            .contains("current key version 3"));
    assertTrue(
        refused(
                editKeys(0, k -> k.setAppRootSecret(flip(k.getAppRootSecret(), 0))),
                Optional.empty())
            .contains("does not match the certified app root key"));
    assertTrue(
        refused(
                editKeys(
                    1,
                    k ->
                        k.setAppRootCertificate(
                            k.getAppRootCertificate().toBuilder()
                                .setKmsSignature(
                                    flip(k.getAppRootCertificate().getKmsSignature(), 5)))),
                Optional.of(root()))
            .contains("not certified by the pinned KMS root"));
    assertTrue(
        refused(
                editKeys(
                    0,
                    k ->
                        k.setEnvEncryptionCertificate(
                            k.getEnvEncryptionCertificate().toBuilder()
                                .setAppRootSignature(
                                    flip(
                                        k.getEnvEncryptionCertificate().getAppRootSignature(),
                                        3)))),
                Optional.empty())
            .contains("env-encryption certificate"));
    assertTrue(
        refused(
                editKeys(0, k -> k.setAppCaCertificate(k.getEnvEncryptionCertificate())),
                Optional.empty())
            .contains("wrong purposes"));
    assertTrue(
        refused(editKeys(0, k -> k.setDiskKey(ByteString.copyFrom(new byte[31]))), Optional.empty())
            .contains("disk key is 31 bytes"));
    assertTrue(
        refused(editKeys(0, k -> k.clearDiskKey()), Optional.empty()).contains("no disk key"));
    assertTrue(
        refused(release(), Optional.of(EthereumAddress.of(new byte[20])))
            .contains("not certified by the pinned KMS root"));
    // two versions certified by different KMS roots
    KmsKeyDeriver other =
        new KmsKeyDeriver(new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom())));
    GetAppKeysResponse mixed =
        release().toBuilder()
            .setKeys(1, TestKmsAccess.keys(other, APP, INSTANCE.toBytes(), 2, policy))
            .build();
    assertTrue(
        refused(mixed, Optional.empty())
            .contains(
                "key versions of root generation 1 are certified by different " + "KMS roots"));
    assertTrue(
        refused(
                editKeys(
                    0,
                    k ->
                        k.setAppRootCertificate(
                            k.getAppRootCertificate().toBuilder().setKeyVersion(7))),
                Optional.empty())
            .contains("another (generation, app, version)"));
  }
}
