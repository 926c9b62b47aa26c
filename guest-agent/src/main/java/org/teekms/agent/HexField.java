package org.teekms.agent;

import java.util.HexFormat;

/**
 * Parses hex fields of requests and configuration strictly ("0x" prefix allowed), naming the field
 * on error.
 */
public final class HexField {
  private static final HexFormat HEX = HexFormat.of();

  private HexField() {}

  /**
   * @param length required byte length, or -1 for any
   */
  public static byte[] parse(String field, String text, int length) {
    if (text == null) {
      throw new IllegalArgumentException(field + " is missing");
    }
    String t = text.startsWith("0x") || text.startsWith("0X") ? text.substring(2) : text;
    byte[] b;
    try {
      b = HEX.parseHex(t);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + " is not valid hex");
    }
    if (length >= 0 && b.length != length) {
      throw new IllegalArgumentException(field + " must be " + length + " bytes, got " + b.length);
    }
    return b;
  }

  public static String hex(byte[] b) {
    return HEX.formatHex(b);
  }
}
