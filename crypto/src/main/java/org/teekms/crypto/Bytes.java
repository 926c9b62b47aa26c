package org.teekms.crypto;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * An immutable byte string with value equality (like Tink's {@code util.Bytes}): copied on the way
 * in and on the way out, so a record holding one compares by content and nobody can change it
 * afterwards. For public values (ids, hashes, report fields, certificates); secrets belong in
 * {@code SecretBytes}. {@link #equalsConstantTime} for values an attacker may probe byte by byte.
 */
public final class Bytes {
  private static final HexFormat HEX = HexFormat.of();
  public static final Bytes EMPTY = new Bytes(new byte[0]);

  private final byte[] value;

  private Bytes(byte[] value) {
    this.value = value;
  }

  public static Bytes copyOf(byte[] value) {
    Objects.requireNonNull(value, "value");
    return value.length == 0 ? EMPTY : new Bytes(value.clone());
  }

  public static Bytes copyOf(byte[] value, int offset, int length) {
    return new Bytes(Arrays.copyOfRange(value, offset, offset + length));
  }

  /**
   * Parses hex (either case, an optional {@code 0x}); throws {@link IllegalArgumentException} on
   * anything else.
   */
  public static Bytes fromHex(String hex) {
    String digits = hex.startsWith("0x") || hex.startsWith("0X") ? hex.substring(2) : hex;
    try {
      return new Bytes(HEX.parseHex(digits));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("bytes is not valid hex", e);
    }
  }

  public byte[] toByteArray() {
    return value.clone();
  }

  public int length() {
    return value.length;
  }

  public boolean isEmpty() {
    return value.length == 0;
  }

  /** The unsigned byte at {@code index}. */
  public int get(int index) {
    return value[index] & 0xff;
  }

  /** Feeds the bytes to {@code digest} without a copy. */
  public void updateDigest(MessageDigest digest) {
    digest.update(value);
  }

  /** Lower-case hex, no prefix. */
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

  /** Compares in time independent of where the first difference is (lengths are not secret). */
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
