package org.teekms.keys;

/**
 * What a key is for; its label is part of the derivation context. See docs/key-derivation.md §4.
 */
public enum Purpose {
  /** The KMS root signing key of a generation (secp256k1); signs app root public keys. */
  KMS_ROOT("kms-root"),
  /**
   * The KMS certificate authority key of a generation (P-256); signs the X.509 certificates of app
   * CA keys.
   */
  KMS_CA("kms-ca"),
  /**
   * The KMS's audit-anchoring account (secp256k1): sends the registry's anchorAuditHead
   * transactions.
   */
  KMS_AUDIT_ANCHOR("kms-audit-anchor"),
  /**
   * The app root secret (raw-256, from the root secret) and the app root signing key (secp256k1,
   * from the app root secret).
   */
  APP_ROOT("app-root"),
  /** Disk encryption key of one instance (and volume); KMS only. */
  DISK("disk"),
  /** X25519 key users encrypt environment variables to; KMS only. */
  ENV_ENCRYPTION("env-encryption"),
  /** P-256 key of the app's TLS certificate authority; KMS only. */
  TLS_CA("tls-ca"),
  /** App signing keys at a path; derivable by a holder of the app root secret. */
  SIGNING("signing"),
  /** User path keys ({@code GetKey(path)}); derivable by a holder of the app root secret. */
  USER("user");

  private final String label;

  Purpose(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  /**
   * True for the keys of the KMS itself (no app id, version 0): {@code kms-root}, {@code kms-ca},
   * {@code kms-audit-anchor}.
   */
  public boolean isKmsKey() {
    return this == KMS_ROOT || this == KMS_CA || this == KMS_AUDIT_ANCHOR;
  }

  public static Purpose fromLabel(String label) {
    for (Purpose p : values()) {
      if (p.label.equals(label)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown purpose: " + label);
  }
}
