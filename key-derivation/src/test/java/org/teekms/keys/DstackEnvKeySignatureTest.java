package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * dstack's env-key signature: message layout, bare recovery id, and recovery of the KMS root key.
 */
class DstackEnvKeySignatureTest {
  private static final AppId APP = AppId.fromHex("ab".repeat(20));
  private static final byte[] PUB = HexFormat.of().parseHex("cd".repeat(32));

  @Test
  void messageIsPrefixColonAppIdTimestampKey() {
    byte[] m = DstackEnvKeySignature.message(APP, 0x0102030405060708L, PUB);
    assertEquals(
        "dstack-env-encrypt-pubkey:" + "ab".repeat(20) + "0102030405060708" + "cd".repeat(32),
        new String(m, 0, 26, java.nio.charset.StandardCharsets.US_ASCII)
            + HexFormat.of().formatHex(m, 26, m.length));
    assertEquals(26 + 20 + 32, DstackEnvKeySignature.legacyMessage(APP, PUB).length);
  }

  @Test
  void signsWithABareRecoveryIdAndRecoversTheKmsRootKey() {
    try (RootKeyring ring =
            new RootKeyring(1, RootKeyring.generateRootSecret(new java.security.SecureRandom()));
        DerivedKey root = new KmsKeyDeriver(ring).kmsRootKey(1)) {
      for (long ts = 1; ts < 40; ts++) {
        byte[] m = DstackEnvKeySignature.message(APP, ts, PUB);
        byte[] sig = DstackEnvKeySignature.sign(root, m);
        assertTrue(sig[64] == 0 || sig[64] == 1);
        assertArrayEquals(
            root.publicKey(), DstackEnvKeySignature.recoverSigner(m, sig).orElseThrow());
        byte[] other = DstackEnvKeySignature.message(APP, ts + 1, PUB);
        assertTrue(
            DstackEnvKeySignature.recoverSigner(other, sig)
                .map(k -> !java.util.Arrays.equals(k, root.publicKey()))
                .orElse(true));
        byte[] eth = sig.clone();
        eth[64] += 27;
        assertTrue(
            DstackEnvKeySignature.recoverSigner(m, eth).isEmpty(),
            "v = 27/28 is not dstack's encoding");
      }
      assertTrue(DstackEnvKeySignature.recoverSigner(new byte[5], new byte[64]).isEmpty());
    }
  }
}
