package org.teekms.keys;

import java.util.Objects;
import org.teekms.crypto.Bytes;

/**
 * First link of the signature chain: the KMS root key of {@code generation} signs the app root
 * public key of (generation, app, version). Message: docs/key-derivation.md §6.
 *
 * @param appRootPublicKey SEC1 compressed secp256k1 point (33 bytes)
 */
public record AppRootCertificate(
    int generation, AppId appId, int version, Bytes appRootPublicKey, EthSignature kmsSignature) {
  public static final String LABEL = "tee-kms/v1/app-root-key";

  public AppRootCertificate {
    new VersionRef(generation, appId, version); // validates the fields
    Objects.requireNonNull(appRootPublicKey, "appRootPublicKey");
    Objects.requireNonNull(kmsSignature, "kmsSignature");
  }

  static AppRootCertificate issue(DerivedKey kmsRootKey, DerivedKey appRootSigningKey) {
    KeyRequest k = kmsRootKey.request();
    KeyRequest a = appRootSigningKey.request();
    if (k.purpose() != Purpose.KMS_ROOT
        || a.purpose() != Purpose.APP_ROOT
        || a.algorithm() != KeyAlgorithm.SECP256K1) {
      throw new IllegalArgumentException("needs the kms-root key and an app-root secp256k1 key");
    }
    if (k.generation() != a.generation()) {
      throw new IllegalArgumentException(
          "kms-root generation " + k.generation() + " != app root generation " + a.generation());
    }
    byte[] pub = appRootSigningKey.publicKey();
    return new AppRootCertificate(
        a.generation(),
        a.appId(),
        a.version(),
        Bytes.copyOf(pub),
        kmsRootKey.signMessage(message(a.generation(), a.appId(), a.version(), pub)));
  }

  static byte[] message(int generation, AppId appId, int version, byte[] appRootPublicKey) {
    return new LengthPrefixed()
        .ascii(LABEL)
        .u32(generation)
        .field(appId.internal())
        .u32(version)
        .field(appRootPublicKey)
        .toByteArray();
  }

  /** The exact bytes whose Keccak-256 the KMS root key signed. */
  public byte[] message() {
    return message(generation, appId, version, appRootPublicKey.toByteArray());
  }

  /** Address of the app root signing key. */
  public EthereumAddress appRootAddress() {
    return EthereumAddress.fromPublicKey(appRootPublicKey.toByteArray());
  }

  @Override
  public String toString() {
    return "AppRootCertificate[gen="
        + generation
        + ", app="
        + appId
        + ", v="
        + version
        + ", appRootPublicKey="
        + appRootPublicKey.hex()
        + ", kmsSignature="
        + kmsSignature
        + "]";
  }
}
