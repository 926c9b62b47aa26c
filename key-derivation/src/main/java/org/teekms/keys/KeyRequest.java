package org.teekms.keys;

import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * Everything that identifies one derived key: exactly the fields of the derivation context
 * (docs/key-derivation.md §3). The constructor validates the combination and names the offending
 * field; use the static factories.
 *
 * @param appId null only for the KMS keys ({@link Purpose#KMS_ROOT}, {@link Purpose#KMS_CA})
 * @param version 0 for the KMS keys, otherwise at least 1
 * @param path empty where the purpose takes no path; at most 1024 UTF-8 bytes, no NUL
 * @param instanceId required for {@link Purpose#DISK}, null otherwise
 */
public record KeyRequest(
    int generation,
    Purpose purpose,
    KeyAlgorithm algorithm,
    AppId appId,
    int version,
    String path,
    InstanceId instanceId) {
  public static final String DOMAIN_LABEL = "tee-kms/v1";
  public static final int MAX_PATH_BYTES = 1024;

  public KeyRequest {
    Objects.requireNonNull(purpose, "purpose");
    Objects.requireNonNull(algorithm, "algorithm");
    Objects.requireNonNull(path, "path");
    if (generation < 1) {
      throw new IllegalArgumentException("generation must be >= 1, got " + generation);
    }
    if (!allowedAlgorithms(purpose).contains(algorithm)) {
      throw new IllegalArgumentException(
          "algorithm " + algorithm.label() + " is not allowed for purpose " + purpose.label());
    }
    if (purpose.isKmsKey()) {
      if (appId != null) {
        throw new IllegalArgumentException("appId must be absent for purpose " + purpose.label());
      }
      if (version != 0) {
        throw new IllegalArgumentException(
            "version must be 0 for purpose " + purpose.label() + ", got " + version);
      }
    } else {
      Objects.requireNonNull(appId, "appId");
      if (version < 1) {
        throw new IllegalArgumentException("version must be >= 1, got " + version);
      }
    }
    boolean takesPath =
        purpose == Purpose.DISK || purpose == Purpose.SIGNING || purpose == Purpose.USER;
    if (!takesPath && !path.isEmpty()) {
      throw new IllegalArgumentException("path must be empty for purpose " + purpose.label());
    }
    if (path.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
      throw new IllegalArgumentException("path longer than " + MAX_PATH_BYTES + " UTF-8 bytes");
    }
    if (path.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("path must not contain NUL");
    }
    if (!StandardCharsets.UTF_8.newEncoder().canEncode(path)) {
      throw new IllegalArgumentException("path is not valid Unicode (unpaired surrogate)");
    }
    if (purpose == Purpose.DISK) {
      Objects.requireNonNull(instanceId, "instanceId (required for disk keys)");
    } else if (instanceId != null) {
      throw new IllegalArgumentException(
          "instanceId must be absent for purpose " + purpose.label());
    }
  }

  /** The (purpose, algorithm) combinations of the purpose table. */
  public static Set<KeyAlgorithm> allowedAlgorithms(Purpose purpose) {
    return switch (purpose) {
      case KMS_ROOT -> EnumSet.of(KeyAlgorithm.SECP256K1);
      case KMS_CA -> EnumSet.of(KeyAlgorithm.P256);
      case KMS_AUDIT_ANCHOR -> EnumSet.of(KeyAlgorithm.SECP256K1);
      case APP_ROOT -> EnumSet.of(KeyAlgorithm.RAW_256, KeyAlgorithm.SECP256K1);
      case DISK -> EnumSet.of(KeyAlgorithm.RAW_256);
      case ENV_ENCRYPTION -> EnumSet.of(KeyAlgorithm.X25519);
      case TLS_CA -> EnumSet.of(KeyAlgorithm.P256);
      case SIGNING -> EnumSet.of(KeyAlgorithm.SECP256K1, KeyAlgorithm.P256, KeyAlgorithm.ED25519);
      case USER -> EnumSet.allOf(KeyAlgorithm.class);
    };
  }

  public static KeyRequest kmsRoot(int generation) {
    return new KeyRequest(generation, Purpose.KMS_ROOT, KeyAlgorithm.SECP256K1, null, 0, "", null);
  }

  /**
   * The KMS's audit-anchoring account key (secp256k1) of a generation (docs/audit-log.md,
   * "Anchoring").
   */
  public static KeyRequest kmsAuditAnchor(int generation) {
    return new KeyRequest(
        generation, Purpose.KMS_AUDIT_ANCHOR, KeyAlgorithm.SECP256K1, null, 0, "", null);
  }

  /** The KMS CA key (P-256) of a generation: issues the X.509 certificates of app CA keys. */
  public static KeyRequest kmsCa(int generation) {
    return new KeyRequest(generation, Purpose.KMS_CA, KeyAlgorithm.P256, null, 0, "", null);
  }

  /** The app root secret A (KMS tier). */
  public static KeyRequest appRootSecret(VersionRef v) {
    return new KeyRequest(
        v.generation(), Purpose.APP_ROOT, KeyAlgorithm.RAW_256, v.app(), v.version(), "", null);
  }

  /** The app root signing key (app tier: derived from A). */
  public static KeyRequest appRootSigning(VersionRef v) {
    return new KeyRequest(
        v.generation(), Purpose.APP_ROOT, KeyAlgorithm.SECP256K1, v.app(), v.version(), "", null);
  }

  /** Disk key of one instance; {@code volume} is the path (may be empty). */
  public static KeyRequest disk(VersionRef v, InstanceId instanceId, String volume) {
    return new KeyRequest(
        v.generation(),
        Purpose.DISK,
        KeyAlgorithm.RAW_256,
        v.app(),
        v.version(),
        volume,
        instanceId);
  }

  public static KeyRequest envEncryption(VersionRef v) {
    return new KeyRequest(
        v.generation(),
        Purpose.ENV_ENCRYPTION,
        KeyAlgorithm.X25519,
        v.app(),
        v.version(),
        "",
        null);
  }

  public static KeyRequest tlsCa(VersionRef v) {
    return new KeyRequest(
        v.generation(), Purpose.TLS_CA, KeyAlgorithm.P256, v.app(), v.version(), "", null);
  }

  public static KeyRequest signing(VersionRef v, KeyAlgorithm algorithm, String path) {
    return new KeyRequest(
        v.generation(), Purpose.SIGNING, algorithm, v.app(), v.version(), path, null);
  }

  public static KeyRequest user(VersionRef v, KeyAlgorithm algorithm, String path) {
    return new KeyRequest(
        v.generation(), Purpose.USER, algorithm, v.app(), v.version(), path, null);
  }

  /** The app key version this key belongs to; empty for the KMS keys. */
  public java.util.Optional<VersionRef> versionRef() {
    return purpose.isKmsKey()
        ? java.util.Optional.empty()
        : java.util.Optional.of(new VersionRef(generation, appId, version));
  }

  /**
   * True when the key is derived directly from the root secret (only the KMS can derive it); false
   * when it is derived from the app root secret (the KMS and a guest agent holding that secret
   * derive the same bytes).
   */
  public boolean isKmsTier() {
    return switch (purpose) {
      case KMS_ROOT, KMS_CA, KMS_AUDIT_ANCHOR, DISK, ENV_ENCRYPTION, TLS_CA -> true;
      case APP_ROOT -> algorithm == KeyAlgorithm.RAW_256;
      case SIGNING, USER -> false;
    };
  }

  /** The HKDF {@code info}: the eight length-prefixed fields of §3. */
  public byte[] context() {
    return new LengthPrefixed()
        .ascii(DOMAIN_LABEL)
        .u32(generation)
        .ascii(purpose.label())
        .ascii(algorithm.label())
        .field(appId == null ? new byte[0] : appId.internal())
        .u32(version)
        .utf8(path)
        .field(instanceId == null ? new byte[0] : instanceId.internal())
        .toByteArray();
  }

  @Override
  public String toString() {
    return "KeyRequest[gen="
        + generation
        + ", "
        + purpose.label()
        + "/"
        + algorithm.label()
        + (appId == null ? "" : ", app=" + appId)
        + ", v="
        + version
        + (path.isEmpty() ? "" : ", path=" + path)
        + (instanceId == null ? "" : ", instance=" + instanceId)
        + "]";
  }
}
