package org.teekms.keys;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import javax.security.auth.Destroyable;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.math.ec.ECPoint;

/**
 * One derived key: its request (context), its private bytes (redacted, destroyable) and its public
 * key. Public parts stay readable after {@link #destroy()}; every use of the private key then
 * throws {@link DestroyedSecretException}.
 */
public final class DerivedKey implements Destroyable, AutoCloseable {
  private final KeyRequest request;
  private final SecretBytes privateKey;
  private final byte[] publicKey; // compressed SEC1 for EC, 32 bytes for 25519, empty for raw
  private final byte[] uncompressed; // uncompressed SEC1 for EC, empty otherwise

  private DerivedKey(
      KeyRequest request, SecretBytes privateKey, byte[] publicKey, byte[] uncompressed) {
    this.request = request;
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.uncompressed = uncompressed;
  }

  /** Derives the key for {@code request} from {@code ikm} (a root secret or an app root secret). */
  static DerivedKey derive(SecretBytes ikm, KeyRequest request) {
    byte[] okm = Hkdf.okm(ikm, request);
    try {
      return switch (request.algorithm()) {
        case SECP256K1, P256 ->
            fromScalar(request, Curves.of(request.algorithm()).scalarFromOkm(okm));
        case ED25519 ->
            new DerivedKey(
                request,
                SecretBytes.wrap(okm.clone()),
                new Ed25519PrivateKeyParameters(okm, 0).generatePublicKey().getEncoded(),
                new byte[0]);
        case X25519 ->
            new DerivedKey(
                request,
                SecretBytes.wrap(okm.clone()),
                new X25519PrivateKeyParameters(okm, 0).generatePublicKey().getEncoded(),
                new byte[0]);
        case RAW_256 ->
            new DerivedKey(request, SecretBytes.wrap(okm.clone()), new byte[0], new byte[0]);
      };
    } finally {
      Arrays.fill(okm, (byte) 0);
    }
  }

  /** An EC key with scalar {@code d} in [1, n-1] (also used by tests for published vectors). */
  static DerivedKey fromScalar(KeyRequest request, BigInteger d) {
    Curves curve = Curves.of(request.algorithm());
    if (d.signum() <= 0 || d.compareTo(curve.n) >= 0) {
      throw new IllegalArgumentException("scalar out of range");
    }
    ECPoint q = curve.publicPoint(d);
    return new DerivedKey(
        request, SecretBytes.wrap(Curves.to32(d)), q.getEncoded(true), q.getEncoded(false));
  }

  public KeyRequest request() {
    return request;
  }

  public KeyAlgorithm algorithm() {
    return request.algorithm();
  }

  /**
   * A copy of the private key: the 32-byte big-endian scalar (secp256k1, P-256), the RFC 8032 seed
   * (Ed25519), the RFC 7748 private key (X25519) or the raw bytes (raw-256).
   */
  public byte[] privateKeyBytes(InsecureSecretAccess access) {
    return privateKey.toByteArray(access);
  }

  /** Constant-time comparison of private keys. */
  public boolean hasSameSecret(DerivedKey other) {
    return privateKey.equalsSecret(other.privateKey);
  }

  /** SEC1 compressed point (secp256k1, P-256) or the 32-byte RFC 8032 / RFC 7748 public key. */
  public byte[] publicKey() {
    requirePublic();
    return publicKey.clone();
  }

  /** SEC1 uncompressed point (65 bytes); secp256k1 and P-256 only. */
  public byte[] uncompressedPublicKey() {
    if (uncompressed.length == 0) {
      throw new UnsupportedOperationException(request.algorithm().label() + " has no SEC1 point");
    }
    return uncompressed.clone();
  }

  /** The Ethereum address; secp256k1 only. */
  public EthereumAddress ethereumAddress() {
    requireAlgorithm(KeyAlgorithm.SECP256K1);
    return EthereumAddress.fromPublicKey(uncompressed);
  }

  /**
   * The signer of this key (secp256k1, P-256 or Ed25519); it shares this key's secret, so closing
   * either zeroizes both. Throws for key types that do not sign (X25519, raw-256).
   */
  public SigningKey signer() {
    return switch (request.algorithm()) {
      case SECP256K1 -> new Secp256k1SigningKey(privateKey, publicKey, uncompressed);
      case P256 -> new P256SigningKey(privateKey, publicKey);
      case ED25519 -> new Ed25519SigningKey(privateKey, publicKey);
      case X25519, RAW_256 ->
          throw new UnsupportedOperationException(
              request.algorithm().label() + " keys do not sign");
    };
  }

  /** {@link #signer()} of a secp256k1 key. */
  public Secp256k1SigningKey secp256k1Signer() {
    requireAlgorithm(KeyAlgorithm.SECP256K1);
    return (Secp256k1SigningKey) signer();
  }

  /** {@link #signer()} of a P-256 key. */
  public P256SigningKey p256Signer() {
    requireAlgorithm(KeyAlgorithm.P256);
    return (P256SigningKey) signer();
  }

  /** {@link #signer()} of an Ed25519 key. */
  public Ed25519SigningKey ed25519Signer() {
    requireAlgorithm(KeyAlgorithm.ED25519);
    return (Ed25519SigningKey) signer();
  }

  /** Ethereum-recoverable signature of a 32-byte digest (RFC 6979, low s); secp256k1 only. */
  public EthSignature signDigest(byte[] digest) {
    return secp256k1Signer().signDigest(digest);
  }

  /** Signs keccak256(message); secp256k1 only. */
  public EthSignature signMessage(byte[] message) {
    return secp256k1Signer().signMessage(message);
  }

  /**
   * The LUKS2 passphrase form of a disk key: its 64 lowercase hex characters as ASCII (docs §5).
   */
  public SecretBytes luksPassphrase() {
    if (request.purpose() != Purpose.DISK) {
      throw new UnsupportedOperationException("only disk keys have a LUKS2 passphrase form");
    }
    byte[] ascii = Hex.encode(privateKey.internal()).getBytes(StandardCharsets.US_ASCII);
    return SecretBytes.wrap(ascii);
  }

  private void requirePublic() {
    if (!request.algorithm().hasPublicKey()) {
      throw new UnsupportedOperationException("raw-256 keys have no public key");
    }
  }

  private void requireAlgorithm(KeyAlgorithm algorithm) {
    if (request.algorithm() != algorithm) {
      throw new UnsupportedOperationException(
          "operation needs " + algorithm.label() + ", key is " + request.algorithm().label());
    }
  }

  @Override
  public void destroy() {
    privateKey.destroy();
  }

  @Override
  public boolean isDestroyed() {
    return privateKey.isDestroyed();
  }

  @Override
  public void close() {
    destroy();
  }

  /** Identity equality: derived keys are compared with {@link #hasSameSecret}. */
  @Override
  public boolean equals(Object o) {
    return this == o;
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(request) * 31 + System.identityHashCode(this);
  }

  @Override
  public String toString() {
    return "DerivedKey["
        + request
        + (publicKey.length > 0 ? ", public=" + Hex.encode(publicKey) : "")
        + ", private="
        + (isDestroyed() ? "destroyed" : "redacted")
        + "]";
  }
}
