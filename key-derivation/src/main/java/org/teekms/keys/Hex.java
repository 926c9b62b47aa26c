package org.teekms.keys;

import java.util.HexFormat;

/** Lowercase hex helpers for public values (never used to print secrets). */
final class Hex {
  private static final HexFormat HEX = HexFormat.of();

  private Hex() {}

  static String encode(byte[] b) {
    return HEX.formatHex(b);
  }

  static byte[] decode(String s, String field) {
    String t = s.startsWith("0x") || s.startsWith("0X") ? s.substring(2) : s;
    try {
      return HEX.parseHex(t);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + " is not valid hex", e);
    }
  }
}
