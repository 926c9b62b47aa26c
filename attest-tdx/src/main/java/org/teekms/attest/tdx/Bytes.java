package org.teekms.attest.tdx;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;

/** An immutable byte string: report fields and digests are exposed as these so callers cannot mutate a parsed quote. */
public final class Bytes {
  private static final HexFormat HEX = HexFormat.of();
  private final byte[] value;

  private Bytes(byte[] value) {
    this.value = value;
  }

  public static Bytes copyOf(byte[] value) {
    return new Bytes(value.clone());
  }

  public static Bytes copyOf(byte[] value, int offset, int length) {
    return new Bytes(Arrays.copyOfRange(value, offset, offset + length));
  }

  /** Parses lower- or upper-case hex; throws {@link IllegalArgumentException} on anything else. */
  public static Bytes fromHex(String hex) {
    return new Bytes(HEX.parseHex(hex));
  }

  public byte[] toByteArray() {
    return value.clone();
  }

  /** The backing array, for read-only use inside this package (signature checks) without a copy. */
  byte[] array() {
    return value;
  }

  public int length() {
    return value.length;
  }

  public int get(int index) {
    return value[index] & 0xff;
  }

  /** Lower-case hex. */
  public String hex() {
    return HEX.formatHex(value);
  }

  public boolean isAllZero() {
    int acc = 0;
    for (byte b : value) {
      acc |= b;
    }
    return acc == 0;
  }

  /** Constant-time comparison (for values an attacker may probe). */
  public boolean equalsConstantTime(Bytes other) {
    return MessageDigest.isEqual(value, other.value);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Bytes b && Arrays.equals(value, b.value);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(value);
  }

  @Override
  public String toString() {
    return hex();
  }
}
