package org.teekms.keys;

import java.util.Objects;
import org.teekms.crypto.Bytes;

/**
 * Second link of the signature chain: the app root signing key signs a purpose key's public key
 * together with its whole context (purpose, algorithm, path, instance). Message:
 * docs/key-derivation.md §6.
 *
 * @param key the request (context) of the certified key; never kms-root, never raw-256
 * @param publicKey the key's public key as {@link DerivedKey#publicKey()} encodes it
 */
public record PurposeKeyCertificate(
    KeyRequest key, Bytes publicKey, EthSignature appRootSignature) {
  public static final String LABEL = "tee-kms/v1/purpose-key";

  public PurposeKeyCertificate {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(appRootSignature, "appRootSignature");
    if (key.purpose().isKmsKey() || !key.algorithm().hasPublicKey()) {
      throw new IllegalArgumentException(
          "cannot certify " + key.purpose().label() + "/" + key.algorithm().label());
    }
    Objects.requireNonNull(publicKey, "publicKey");
  }

  static PurposeKeyCertificate issue(DerivedKey appRootSigningKey, DerivedKey key) {
    KeyRequest a = appRootSigningKey.request();
    KeyRequest k = key.request();
    if (a.purpose() != Purpose.APP_ROOT || a.algorithm() != KeyAlgorithm.SECP256K1) {
      throw new IllegalArgumentException("the signer must be an app-root secp256k1 key");
    }
    if (a.generation() != k.generation()
        || !a.appId().equals(k.appId())
        || a.version() != k.version()) {
      throw new IllegalArgumentException("key " + k + " does not belong to app root " + a);
    }
    byte[] pub = key.publicKey();
    return new PurposeKeyCertificate(
        k, Bytes.copyOf(pub), appRootSigningKey.signMessage(message(k, pub)));
  }

  static byte[] message(KeyRequest k, byte[] publicKey) {
    return new LengthPrefixed()
        .ascii(LABEL)
        .u32(k.generation())
        .field(k.appId().internal())
        .u32(k.version())
        .ascii(k.purpose().label())
        .ascii(k.algorithm().label())
        .utf8(k.path())
        .field(k.instanceId() == null ? new byte[0] : k.instanceId().internal())
        .field(publicKey)
        .toByteArray();
  }

  /** The exact bytes whose Keccak-256 the app root key signed. */
  public byte[] message() {
    return message(key, publicKey.toByteArray());
  }

  @Override
  public String toString() {
    return "PurposeKeyCertificate["
        + key
        + ", publicKey="
        + publicKey.hex()
        + ", appRootSignature="
        + appRootSignature
        + "]";
  }
}
