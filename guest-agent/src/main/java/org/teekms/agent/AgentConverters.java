package org.teekms.agent;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.eclipse.microprofile.config.spi.Converter;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;

/**
 * The agent's value formats, strict: integers in decimal, booleans {@code true} or {@code false}
 * only (SmallRye's own converter reads "yes", "on" and "1" too, and anything else as false), hex
 * with an optional {@code 0x} and, where the key says so, an exact length. A converter's message
 * completes a sentence that starts with the key ({@link AgentConfig} puts them together): {@code
 * kms.port must be an integer, got abc}. An empty value converts to null, SmallRye's "absent" (our
 * source never holds one: {@link AgentConfig} drops blank values), so an unset optional key stays
 * empty instead of becoming zero bytes.
 */
public final class AgentConverters {
  private static final HexFormat HEX = HexFormat.of();

  private AgentConverters() {}

  /** Decimal {@code int}. */
  public static final class Ints implements Converter<Integer> {
    @Override
    public Integer convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      try {
        return Integer.parseInt(value);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("must be an integer, got " + value);
      }
    }
  }

  /** Decimal {@code long}. */
  public static final class Longs implements Converter<Long> {
    @Override
    public Long convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      try {
        return Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("must be an integer, got " + value);
      }
    }
  }

  /** {@code true} or {@code false}; anything else is an error, not false. */
  public static final class Bools implements Converter<Boolean> {
    @Override
    public Boolean convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      return switch (value) {
        case "true" -> true;
        case "false" -> false;
        default -> throw new IllegalArgumentException("must be true or false, got " + value);
      };
    }
  }

  /** {@code configfs-tsm} or {@code simulator}. */
  public static final class TeeProviders implements Converter<AgentSettings.TeeProvider> {
    @Override
    public AgentSettings.TeeProvider convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      return switch (value) {
        case "configfs-tsm" -> AgentSettings.TeeProvider.CONFIGFS_TSM;
        case "simulator" -> AgentSettings.TeeProvider.SIMULATOR;
        default -> throw new IllegalArgumentException("must be configfs-tsm or simulator");
      };
    }
  }

  /** {@code none}, {@code command} or {@code simulator}. */
  public static final class GpuProviders implements Converter<AgentSettings.GpuProvider> {
    @Override
    public AgentSettings.GpuProvider convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      return switch (value) {
        case "none" -> AgentSettings.GpuProvider.NONE;
        case "command" -> AgentSettings.GpuProvider.COMMAND;
        case "simulator" -> AgentSettings.GpuProvider.SIMULATOR;
        default -> throw new IllegalArgumentException("must be none, command or simulator");
      };
    }
  }

  /** Hex of any length. */
  public static final class Hex implements Converter<Bytes> {
    @Override
    public Bytes convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      return Bytes.copyOf(hex(value, -1));
    }
  }

  /** Hex of 32 bytes (hashes, measurements). */
  public static final class Hex32 implements Converter<Bytes> {
    @Override
    public Bytes convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      return Bytes.copyOf(hex(value, 32));
    }
  }

  /**
   * Comma-separated hex of 32 bytes each; blanks around and between entries are ignored. (A
   * converter of the whole list: SmallRye applies a {@code @WithConverter} of an optional list to
   * the whole value, not to each element.)
   */
  public static final class Hex32List implements Converter<List<Bytes>> {
    @Override
    public List<Bytes> convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      List<Bytes> out = new ArrayList<>();
      for (String m : value.split(",")) {
        if (!m.isBlank()) {
          out.add(Bytes.copyOf(hex(m, 32)));
        }
      }
      return List.copyOf(out);
    }
  }

  /** Hex of 48 bytes (TDX registers). */
  public static final class Hex48 implements Converter<Bytes> {
    @Override
    public Bytes convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      return Bytes.copyOf(hex(value, 48));
    }
  }

  /** An app id: 20 bytes of hex. */
  public static final class HexAppId implements Converter<AppId> {
    @Override
    public AppId convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      return AppId.of(hex(value, AppId.LENGTH));
    }
  }

  /** An instance id: 1 to 64 bytes of hex. */
  public static final class HexInstanceId implements Converter<InstanceId> {
    @Override
    public InstanceId convert(String value) {
      if (value.isBlank()) {
        return null; // absent: SmallRye\'s empty Optional, or the default
      }
      byte[] b = hex(value, -1);
      if (b.length < 1 || b.length > InstanceId.MAX_LENGTH) {
        throw new IllegalArgumentException(
            "must be 1 to " + InstanceId.MAX_LENGTH + " bytes, got " + b.length);
      }
      return InstanceId.of(b);
    }
  }

  /** {@link HexField#parse}'s format, its messages without the key. */
  static byte[] hex(String value, int length) {
    String t = value.strip();
    t = t.startsWith("0x") || t.startsWith("0X") ? t.substring(2) : t;
    byte[] b;
    try {
      b = HEX.parseHex(t);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("is not valid hex");
    }
    if (length >= 0 && b.length != length) {
      throw new IllegalArgumentException("must be " + length + " bytes, got " + b.length);
    }
    return b;
  }
}
