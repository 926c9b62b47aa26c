package org.teekms.governance;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NVIDIA driver versions on chain: "major.minor[.patch]" as the uint32 major*1_000_000 +
 * minor*1_000 + patch (each part 0..999, major up to 4294), so "550.127.05" = 550127005 and
 * versions compare as integers.
 */
public final class DriverVersion {
  private static final Pattern FORMAT =
      Pattern.compile("(\\d{1,4})\\.(\\d{1,3})(?:\\.(\\d{1,3}))?");

  private DriverVersion() {}

  public static long parse(String version) {
    Matcher m = FORMAT.matcher(version.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "driver version must be major.minor[.patch], got '" + version + "'");
    }
    long major = Long.parseLong(m.group(1));
    if (major > 4294)
      throw new IllegalArgumentException("driver major version too large: " + major);
    long minor = Long.parseLong(m.group(2));
    long patch = m.group(3) == null ? 0 : Long.parseLong(m.group(3));
    return major * 1_000_000 + minor * 1_000 + patch;
  }

  public static String format(long encoded) {
    if (encoded == 0) return "0";
    return String.format(
        "%d.%d.%02d", encoded / 1_000_000, encoded / 1_000 % 1_000, encoded % 1_000);
  }
}
