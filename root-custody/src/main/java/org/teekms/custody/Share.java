package org.teekms.custody;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Objects;
import javax.security.auth.Destroyable;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

/**
 * One Shamir share (x = index, y = value mod n). The value is secret: it is held as {@link
 * SecretBytes}, never printed, and zeroized by {@link #destroy()}. Encoding (docs/root-custody.md
 * §3.2): {@code 0x01 ‖ index (1 byte) ‖ value (32 bytes, big-endian, < n)}, 34 bytes.
 */
public final class Share implements Destroyable, AutoCloseable {
  public static final int ENCODED_LENGTH = 34;
  static final byte VERSION = 1;
  public static final int MAX_INDEX = 255;

  private final int index;
  private final SecretBytes value;

  private Share(int index, SecretBytes value) {
    this.index = index;
    this.value = value;
  }

  /** A share from its index and 32-byte value (copied). */
  public static Share of(int index, byte[] value32, InsecureSecretAccess access)
      throws CustodyException {
    Objects.requireNonNull(access, "access");
    checkIndex(index);
    if (value32.length != 32) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, "share value must be 32 bytes, got " + value32.length);
    }
    if (new BigInteger(1, value32).compareTo(Group.N) >= 0) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "share " + index + " value is not below the group order");
    }
    return new Share(index, SecretBytes.copyOf(value32, access));
  }

  static Share ofScalar(int index, BigInteger y) {
    byte[] b = Group.to32(y);
    try {
      return new Share(index, SecretBytes.copyOf(b, InsecureSecretAccess.get()));
    } finally {
      Arrays.fill(b, (byte) 0);
    }
  }

  static void checkIndex(int index) throws CustodyException {
    if (index < 1 || index > MAX_INDEX) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "share index must be 1.." + MAX_INDEX + ", got " + index);
    }
  }

  public int index() {
    return index;
  }

  /** The value as a scalar (package use: verification and interpolation). */
  BigInteger scalar() {
    byte[] b = value.toByteArray(InsecureSecretAccess.get());
    try {
      return new BigInteger(1, b);
    } finally {
      Arrays.fill(b, (byte) 0);
    }
  }

  /** The 34-byte encoding; the caller zeroizes it. */
  public byte[] encode(InsecureSecretAccess access) {
    byte[] v = value.toByteArray(access);
    byte[] out = new byte[ENCODED_LENGTH];
    out[0] = VERSION;
    out[1] = (byte) index;
    System.arraycopy(v, 0, out, 2, 32);
    Arrays.fill(v, (byte) 0);
    return out;
  }

  /** Decodes {@link #encode}; any other input is MALFORMED with a one-line reason. */
  public static Share decode(byte[] encoded, InsecureSecretAccess access) throws CustodyException {
    if (encoded == null || encoded.length != ENCODED_LENGTH) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "share encoding must be "
              + ENCODED_LENGTH
              + " bytes, got "
              + (encoded == null ? 0 : encoded.length));
    }
    if (encoded[0] != VERSION) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "share encoding version " + (encoded[0] & 0xff) + " is not " + VERSION);
    }
    byte[] v = Arrays.copyOfRange(encoded, 2, 34);
    try {
      return of(encoded[1] & 0xff, v, access);
    } finally {
      Arrays.fill(v, (byte) 0);
    }
  }

  /** Constant-time comparison of index and value. */
  public boolean equalsShare(Share other) {
    return index == other.index & value.equalsSecret(other.value);
  }

  @Override
  public void destroy() {
    value.destroy();
  }

  @Override
  public boolean isDestroyed() {
    return value.isDestroyed();
  }

  @Override
  public void close() {
    destroy();
  }

  @Override
  public String toString() {
    return "Share[index " + index + ", value redacted]";
  }
}
