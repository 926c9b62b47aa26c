package org.teekms.keys;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.bouncycastle.math.ec.ECPoint;

/**
 * A secp256k1 private key. Every signature comes from tee-kms' one secp256k1 implementation ({@link
 * Secp256k1}: RFC 6979 nonces, low s, v = 27 + recovery id): chain signatures over Keccak-256,
 * EIP-191 personal messages (signed responses, operator requests) and dstack's plain {@code k256}
 * signatures over SHA-256.
 */
public final class Secp256k1SigningKey extends SecretKeyHolder implements SigningKey {
  private final byte[] uncompressed;

  Secp256k1SigningKey(SecretBytes scalar, byte[] compressed, byte[] uncompressed) {
    super(scalar, compressed);
    this.uncompressed = uncompressed;
  }

  /**
   * A signer for a 32-byte big-endian private scalar in [1, n-1] held outside the derivation (an
   * operator's key file). Copies {@code scalar}; the caller zeroizes its own array.
   */
  public static Secp256k1SigningKey fromPrivateKey(byte[] scalar, InsecureSecretAccess access) {
    if (scalar.length != 32) {
      throw new IllegalArgumentException(
          "a secp256k1 private key is 32 bytes, got " + scalar.length);
    }
    BigInteger d = new BigInteger(1, scalar);
    if (d.signum() == 0 || d.compareTo(Secp256k1.N) >= 0) {
      throw new IllegalArgumentException("secp256k1 private key out of range");
    }
    ECPoint q = Curves.SECP256K1.publicPoint(d);
    return new Secp256k1SigningKey(
        SecretBytes.copyOf(scalar, access), q.getEncoded(true), q.getEncoded(false));
  }

  @Override
  public KeyAlgorithm algorithm() {
    return KeyAlgorithm.SECP256K1;
  }

  /** SEC1 uncompressed (65 bytes). */
  public byte[] uncompressedPublicKey() {
    return uncompressed.clone();
  }

  public EthereumAddress address() {
    return EthereumAddress.fromPublicKey(uncompressed);
  }

  /** Ethereum-recoverable signature of a 32-byte digest. */
  public EthSignature signDigest(byte[] digest) {
    return Secp256k1.signDigest(new BigInteger(1, secret.internal()), digest);
  }

  /** Signs Keccak-256(message): every tee-kms chain signature (docs/key-derivation.md §6). */
  public EthSignature signMessage(byte[] message) {
    return signDigest(EthereumAddress.keccak256(message));
  }

  /** EIP-191 {@code personal_sign}: signs Keccak-256 of {@link #personalMessage}(message). */
  public EthSignature signPersonalMessage(byte[] message) {
    return signMessage(personalMessage(message));
  }

  /** dstack's {@code k256}: ECDSA of SHA-256(message), low s, r ‖ s (64 bytes). */
  @Override
  public byte[] sign(byte[] message) {
    return signPrehashed(EcdsaRs.sha256(message));
  }

  /**
   * dstack's {@code secp256k1_prehashed}: the 32-byte digest is signed as given, r ‖ s (64 bytes).
   */
  public byte[] signPrehashed(byte[] digest) {
    return Arrays.copyOf(signDigest(digest).toBytes(), 64);
  }

  /** Checks a {@link #sign} signature (any s in [1, n-1]); false for any malformed input. */
  public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
    return message != null && verifyPrehashed(publicKey, EcdsaRs.sha256(message), signature);
  }

  /**
   * Checks a {@link #signPrehashed} signature; false for any malformed input (a digest not of 32
   * bytes too).
   */
  public static boolean verifyPrehashed(byte[] publicKey, byte[] digest, byte[] signature) {
    return EcdsaRs.verify(Curves.SECP256K1, publicKey, digest, signature);
  }

  /**
   * The EIP-191 version 0x45 message: {@code "\x19Ethereum Signed Message:\n" + len(message) +
   * message}.
   */
  public static byte[] personalMessage(byte[] message) {
    byte[] prefix =
        ("\u0019Ethereum Signed Message:\n" + message.length).getBytes(StandardCharsets.US_ASCII);
    byte[] out = Arrays.copyOf(prefix, prefix.length + message.length);
    System.arraycopy(message, 0, out, prefix.length, message.length);
    return out;
  }

  /**
   * The signer of an EIP-191 signature of {@code message}, or empty when the signature is not
   * acceptable.
   */
  public static Optional<EthereumAddress> recoverPersonalSigner(
      byte[] message, EthSignature signature) {
    return Secp256k1.recoverAddress(personalMessage(message), signature);
  }
}
