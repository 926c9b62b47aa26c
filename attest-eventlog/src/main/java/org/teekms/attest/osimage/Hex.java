package org.teekms.attest.osimage;

import java.util.HexFormat;

final class Hex {
  private static final HexFormat HEX = HexFormat.of();

  private Hex() {}

  static String of(byte[] b) {
    return HEX.formatHex(b);
  }
}
