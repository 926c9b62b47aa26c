package org.teekms.keys;

import java.util.Objects;
import java.util.Optional;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Verifies a {@link SignatureChain} (docs/key-derivation.md §6): recovers each signer from its
 * Ethereum-recoverable signature and compares addresses. Returns facts ({@link Result}); never
 * throws on bad input.
 */
public final class SignatureChainVerifier {

  public enum Failure {
    /** The app root public key is not a valid compressed secp256k1 point. */
    INVALID_APP_ROOT_KEY,
    /** The certified public key is not a valid encoding for its algorithm. */
    INVALID_KEY,
    /** The KMS signature is malformed, non-canonical or not recoverable. */
    BAD_KMS_SIGNATURE,
    /** The KMS signature recovers to an address other than the trusted KMS root. */
    KMS_ROOT_MISMATCH,
    /** The app root signature is malformed, non-canonical or not recoverable. */
    BAD_APP_ROOT_SIGNATURE,
    /** The app root signature recovers to an address other than the certified app root key's. */
    APP_ROOT_MISMATCH,
    /** The key's generation, app or version differ from the app root certificate's. */
    CONTEXT_MISMATCH
  }

  /** Valid, or the first failure with a human-readable detail. */
  public record Result(Failure failure, String detail) {
    static final Result VALID = new Result(null, "valid");

    public boolean valid() {
      return failure == null;
    }

    static Result fail(Failure f, String detail) {
      return new Result(f, detail);
    }
  }

  private final EthereumAddress trustedKmsRoot;

  public SignatureChainVerifier(EthereumAddress trustedKmsRoot) {
    this.trustedKmsRoot = Objects.requireNonNull(trustedKmsRoot, "trustedKmsRoot");
  }

  /** Checks both links. */
  public Result verify(SignatureChain chain) {
    Result r = verifyAppRoot(chain.appRoot());
    return r.valid() ? verifyKey(chain.appRoot(), chain.key()) : r;
  }

  /** Checks that the trusted KMS root key certified this app root key. */
  public Result verifyAppRoot(AppRootCertificate cert) {
    byte[] pub = cert.appRootPublicKey().toByteArray();
    if (pub.length != 33 || !validPoint(Curves.SECP256K1, pub)) {
      return Result.fail(
          Failure.INVALID_APP_ROOT_KEY, "app root public key is not a compressed secp256k1 point");
    }
    Optional<EthereumAddress> signer =
        Secp256k1.recoverAddress(cert.message(), cert.kmsSignature());
    if (signer.isEmpty()) {
      return Result.fail(
          Failure.BAD_KMS_SIGNATURE,
          "KMS signature is malformed, non-canonical or not recoverable");
    }
    if (!signer.get().equals(trustedKmsRoot)) {
      return Result.fail(
          Failure.KMS_ROOT_MISMATCH,
          "signed by " + signer.get() + ", trusted KMS root is " + trustedKmsRoot);
    }
    return Result.VALID;
  }

  /**
   * Checks that a (KMS-certified) app root key certified this purpose key. Call after {@link
   * #verifyAppRoot}.
   */
  public Result verifyKey(AppRootCertificate appRoot, PurposeKeyCertificate cert) {
    KeyRequest k = cert.key();
    if (k.generation() != appRoot.generation()
        || !k.appId().equals(appRoot.appId())
        || k.version() != appRoot.version()) {
      return Result.fail(
          Failure.CONTEXT_MISMATCH,
          k
              + " is not under "
              + appRoot.appId()
              + " gen "
              + appRoot.generation()
              + " v"
              + appRoot.version());
    }
    if (!validPublicKey(k.algorithm(), cert.publicKey().toByteArray())) {
      return Result.fail(
          Failure.INVALID_KEY, "public key is not a valid " + k.algorithm().label() + " key");
    }
    Optional<EthereumAddress> signer =
        Secp256k1.recoverAddress(cert.message(), cert.appRootSignature());
    if (signer.isEmpty()) {
      return Result.fail(
          Failure.BAD_APP_ROOT_SIGNATURE,
          "app root signature is malformed, non-canonical or not recoverable");
    }
    EthereumAddress expected = appRoot.appRootAddress();
    if (!signer.get().equals(expected)) {
      return Result.fail(
          Failure.APP_ROOT_MISMATCH, "signed by " + signer.get() + ", app root is " + expected);
    }
    return Result.VALID;
  }

  private static boolean validPublicKey(KeyAlgorithm algorithm, byte[] pub) {
    return switch (algorithm) {
      case SECP256K1 -> pub.length == 33 && validPoint(Curves.SECP256K1, pub);
      case P256 -> pub.length == 33 && validPoint(Curves.P256, pub);
      case ED25519 -> pub.length == 32 && validEd25519(pub);
      case X25519 -> pub.length == 32;
      case RAW_256 -> false;
    };
  }

  private static boolean validPoint(Curves curve, byte[] pub) {
    try {
      curve.decodePoint(pub);
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static boolean validEd25519(byte[] pub) {
    try {
      return Ed25519.validatePublicKeyFull(pub, 0);
    } catch (RuntimeException e) {
      return false;
    }
  }
}
