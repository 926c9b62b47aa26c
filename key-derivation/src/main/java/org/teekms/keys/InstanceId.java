package org.teekms.keys;

import java.util.Arrays;

/** A CVM instance identifier, 1 to 64 bytes; part of the context of disk keys only. */
public final class InstanceId {
  public static final int MAX_LENGTH = 64;
  private final byte[] bytes;

  private InstanceId(byte[] bytes) {
    if (bytes.length < 1 || bytes.length > MAX_LENGTH) {
      throw new IllegalArgumentException(
          "instanceId must be 1.." + MAX_LENGTH + " bytes, got " + bytes.length);
    }
    this.bytes = bytes;
  }

  public static InstanceId of(byte[] bytes) {
    return new InstanceId(bytes.clone());
  }

  public static InstanceId fromHex(String hex) {
    return new InstanceId(Hex.decode(hex, "instanceId"));
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
    return o instanceof InstanceId other && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return toHex();
  }
}
