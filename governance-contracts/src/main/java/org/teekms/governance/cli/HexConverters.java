package org.teekms.governance.cli;

import java.util.HexFormat;
import org.web3j.crypto.WalletUtils;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Option converters: bad input is a usage error (exit 2) that names what was expected. */
final class HexConverters {
  private HexConverters() {}

  static byte[] bytes(String value, int length) {
    String hex = value.startsWith("0x") || value.startsWith("0X") ? value.substring(2) : value;
    if (hex.length() != length * 2) {
      throw new TypeConversionException(
          "expected " + length + " bytes as hex (" + length * 2 + " digits), got '" + value + "'");
    }
    try {
      return HexFormat.of().parseHex(hex);
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException("not hex: '" + value + "'");
    }
  }

  /**
   * 32 bytes, 0x optional; the option value stays a normalized 0x-hex string (picocli would treat
   * byte[] as a multi-valued option).
   */
  static final class Bytes32 implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      return "0x" + HexFormat.of().formatHex(bytes(value, 32));
    }
  }

  /** The bytes of a value checked by {@link Bytes32}. */
  static byte[] b32(String checkedHex) {
    return HexFormat.of().parseHex(checkedHex.substring(2));
  }

  /** An Ethereum address. */
  static final class AddressConverter implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      if (!WalletUtils.isValidAddress(value)
          || !(value.startsWith("0x") || value.startsWith("0X"))) {
        throw new TypeConversionException("not an address (0x + 40 hex digits): '" + value + "'");
      }
      return value.toLowerCase(java.util.Locale.ROOT);
    }
  }
}
