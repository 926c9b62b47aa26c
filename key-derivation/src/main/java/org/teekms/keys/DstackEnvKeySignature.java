package org.teekms.keys;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * dstack's signature over an app's env-encryption public key (its KMS's {@code
 * GetAppEnvEncryptPubKey}, docs/env-secrets.md §3), so dstack's SDK {@code
 * verifyEnvEncryptPublicKey} accepts our KMS's answer:
 *
 * <pre>
 * message_v1     = ascii("dstack-env-encrypt-pubkey") ‖ ":" ‖ app_id[20] ‖ u64be(timestamp_seconds) ‖ public_key[32]
 * message_legacy = ascii("dstack-env-encrypt-pubkey") ‖ ":" ‖ app_id[20] ‖ public_key[32]
 * signature      = r[32] ‖ s[32] ‖ recovery_id[1]      over Keccak-256(message), secp256k1, low s
 * </pre>
 *
 * Unlike our own signatures (v = 27 + recovery id), dstack writes the bare recovery id (0 or 1) as
 * the last byte. The signer is the KMS root key of the key version's root generation: the key whose
 * public key the registry publishes ({@code KmsRegistry.kmsIdentity(generation)}). The message does
 * not bind the key version: the certificate chain ({@link SignatureChain}) does.
 */
public final class DstackEnvKeySignature {
  static final byte[] PREFIX = "dstack-env-encrypt-pubkey:".getBytes(StandardCharsets.US_ASCII);

  private DstackEnvKeySignature() {}

  public static byte[] message(AppId appId, long timestampSeconds, byte[] publicKey) {
    checkKey(publicKey);
    return ByteBuffer.allocate(PREFIX.length + 20 + 8 + 32)
        .put(PREFIX)
        .put(appId.toBytes())
        .putLong(timestampSeconds)
        .put(publicKey)
        .array();
  }

  public static byte[] legacyMessage(AppId appId, byte[] publicKey) {
    checkKey(publicKey);
    return ByteBuffer.allocate(PREFIX.length + 20 + 32)
        .put(PREFIX)
        .put(appId.toBytes())
        .put(publicKey)
        .array();
  }

  /** Signs {@code message} with the KMS root key, in dstack's encoding (last byte 0 or 1). */
  public static byte[] sign(DerivedKey kmsRoot, byte[] message) {
    if (kmsRoot.request().purpose() != Purpose.KMS_ROOT) {
      throw new IllegalArgumentException(
          "dstack env-key signatures are made by the KMS root key only");
    }
    byte[] sig = kmsRoot.signDigest(EthereumAddress.keccak256(message)).toBytes();
    sig[64] = (byte) (sig[64] - 27);
    return sig;
  }

  /**
   * The signer's compressed public key (33 bytes), or empty when the signature is malformed,
   * non-canonical or its last byte is not 0 or 1.
   */
  public static Optional<byte[]> recoverSigner(byte[] message, byte[] signature) {
    if (signature.length != 65 || (signature[64] != 0 && signature[64] != 1)) {
      return Optional.empty();
    }
    byte[] eth = signature.clone();
    eth[64] = (byte) (eth[64] + 27);
    return Secp256k1.recoverPublicKey(
            EthereumAddress.keccak256(message), EthSignature.fromBytes(eth))
        .map(DstackEnvKeySignature::compress);
  }

  private static byte[] compress(byte[] uncompressed) {
    return Curves.of(KeyAlgorithm.SECP256K1).decodePoint(uncompressed).getEncoded(true);
  }

  private static void checkKey(byte[] publicKey) {
    if (publicKey.length != 32) {
      throw new IllegalArgumentException(
          "X25519 public key must be 32 bytes, got " + publicKey.length);
    }
  }
}
