package org.teekms.keys;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import javax.security.auth.Destroyable;

/**
 * Secret key material. Never prints its bytes, hands them out only as copies against an explicit
 * {@link InsecureSecretAccess} token, compares in constant time, and can be destroyed (zeroized),
 * after which every use throws {@link DestroyedSecretException}. Equality is identity: use {@link
 * #equalsSecret} to compare contents.
 */
public final class SecretBytes implements Destroyable, AutoCloseable {
  private final byte[] bytes;
  private volatile boolean destroyed;

  private SecretBytes(byte[] ownedBytes) {
    this.bytes = ownedBytes;
  }

  /** Copies {@code bytes}; the caller should zeroize its own array when done. */
  public static SecretBytes copyOf(byte[] bytes, InsecureSecretAccess access) {
    Objects.requireNonNull(access, "access");
    return new SecretBytes(bytes.clone());
  }

  /** Fresh random bytes, e.g. a 32-byte root secret. */
  public static SecretBytes random(int length, SecureRandom random) {
    if (length <= 0) {
      throw new IllegalArgumentException("length must be positive: " + length);
    }
    byte[] b = new byte[length];
    random.nextBytes(b);
    return new SecretBytes(b);
  }

  /** Takes ownership of {@code bytes} without copying (package-internal: derivation outputs). */
  static SecretBytes wrap(byte[] bytes) {
    return new SecretBytes(bytes);
  }

  /** A copy of the secret bytes. */
  public byte[] toByteArray(InsecureSecretAccess access) {
    Objects.requireNonNull(access, "access");
    return internal().clone();
  }

  public int length() {
    return bytes.length;
  }

  /** Constant-time comparison of contents (lengths are not secret). */
  public boolean equalsSecret(SecretBytes other) {
    return MessageDigest.isEqual(internal(), other.internal());
  }

  /** The backing array, for use inside this package only; checks that the secret is alive. */
  byte[] internal() {
    if (destroyed) {
      throw new DestroyedSecretException();
    }
    return bytes;
  }

  @Override
  public void destroy() {
    destroyed = true;
    Arrays.fill(bytes, (byte) 0);
  }

  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  @Override
  public void close() {
    destroy();
  }

  @Override
  public String toString() {
    return destroyed
        ? "SecretBytes[destroyed]"
        : "SecretBytes[" + bytes.length + " bytes, redacted]";
  }
}
