package org.teekms.keys;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** The field encoding F(x) = u16(len(x)) || x of docs/key-derivation.md §3 and §6. */
final class LengthPrefixed {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream(128);

  LengthPrefixed field(byte[] value) {
    if (value.length > 0xFFFF) {
      throw new IllegalArgumentException("field longer than 65535 bytes");
    }
    out.write(value.length >>> 8);
    out.write(value.length & 0xFF);
    out.writeBytes(value);
    return this;
  }

  LengthPrefixed ascii(String value) {
    return field(value.getBytes(StandardCharsets.US_ASCII));
  }

  LengthPrefixed utf8(String value) {
    return field(value.getBytes(StandardCharsets.UTF_8));
  }

  LengthPrefixed u32(int value) {
    return field(
        new byte[] {
          (byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value
        });
  }

  byte[] toByteArray() {
    return out.toByteArray();
  }
}
