package org.teekms.keys;

/**
 * Key type; its label is part of the derivation context, so one path never gives related keys for
 * two types.
 */
public enum KeyAlgorithm {
  SECP256K1("secp256k1", 48),
  P256("p256", 48),
  ED25519("ed25519", 32),
  X25519("x25519", 32),
  /** 32 raw bytes (symmetric keys, disk keys, the app root secret). */
  RAW_256("raw-256", 32);

  private final String label;
  private final int okmLength;

  KeyAlgorithm(String label, int okmLength) {
    this.label = label;
    this.okmLength = okmLength;
  }

  public String label() {
    return label;
  }

  /** HKDF output length L: 48 for the curve scalars (wide reduction), 32 otherwise. */
  int okmLength() {
    return okmLength;
  }

  public boolean hasPublicKey() {
    return this != RAW_256;
  }

  public static KeyAlgorithm fromLabel(String label) {
    for (KeyAlgorithm a : values()) {
      if (a.label.equals(label)) {
        return a;
      }
    }
    throw new IllegalArgumentException("unknown algorithm: " + label);
  }
}
