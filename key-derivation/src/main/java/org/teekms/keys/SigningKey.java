package org.teekms.keys;

import javax.security.auth.Destroyable;

/**
 * A private key that signs: one final class per signature algorithm tee-kms uses, each also holding
 * the matching verifier ({@code verify}). Secp256k1 (chain signatures, EIP-191 response signatures,
 * dstack's {@code k256}), P-256 (the KMS's X.509 CA certificates) and Ed25519 (dstack's {@code
 * ed25519}). X25519 and raw-256 keys do not sign.
 *
 * <p>A signer obtained from a {@link DerivedKey} shares that key's secret: closing either zeroizes
 * it.
 */
public sealed interface SigningKey extends Destroyable, AutoCloseable
    permits Secp256k1SigningKey, P256SigningKey, Ed25519SigningKey {

  KeyAlgorithm algorithm();

  /**
   * The public key as {@link DerivedKey#publicKey()} encodes it: SEC1 compressed, or 32 bytes for
   * Ed25519.
   */
  byte[] publicKey();

  /**
   * The algorithm's plain signature of {@code message}: Ed25519 (RFC 8032, 64 bytes); secp256k1 and
   * P-256: ECDSA of SHA-256(message) with RFC 6979 nonces, as r ‖ s (64 bytes; secp256k1 with low
   * s). Deterministic.
   */
  byte[] sign(byte[] message);

  @Override
  void destroy();

  @Override
  default void close() {
    destroy();
  }

  /**
   * Checks a {@link #sign} signature. False for a malformed public key or signature (wrong length,
   * not on the curve, out of range); never throws on bad input. Throws only for an algorithm that
   * does not sign.
   */
  static boolean verify(
      KeyAlgorithm algorithm, byte[] publicKey, byte[] message, byte[] signature) {
    return switch (algorithm) {
      case SECP256K1 -> Secp256k1SigningKey.verify(publicKey, message, signature);
      case P256 -> P256SigningKey.verify(publicKey, message, signature);
      case ED25519 -> Ed25519SigningKey.verify(publicKey, message, signature);
      case X25519, RAW_256 ->
          throw new IllegalArgumentException(algorithm.label() + " keys do not sign");
    };
  }
}
