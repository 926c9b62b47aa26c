package org.teekms.keys;

import java.util.Arrays;

/** An application identifier: exactly 20 bytes (the app's on-chain address). */
public final class AppId {
  public static final int LENGTH = 20;
  private final byte[] bytes;

  private AppId(byte[] bytes) {
    if (bytes.length != LENGTH) {
      throw new IllegalArgumentException("appId must be " + LENGTH + " bytes, got " + bytes.length);
    }
    this.bytes = bytes;
  }

  public static AppId of(byte[] bytes) {
    return new AppId(bytes.clone());
  }

  /** Parses 40 hex digits, with or without {@code 0x}, any case. */
  public static AppId fromHex(String hex) {
    return new AppId(Hex.decode(hex, "appId"));
  }

  public byte[] toBytes() {
    return bytes.clone();
  }

  byte[] internal() {
    return bytes;
  }

  public String toHex() {
    return Hex.encode(bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AppId other && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "0x" + toHex();
  }
}
