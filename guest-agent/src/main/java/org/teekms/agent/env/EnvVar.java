package org.teekms.agent.env;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One environment variable: a name (dstack's rule {@code [A-Za-z_][A-Za-z0-9_]*}, at most 255
 * bytes) and a secret value (at most 128 KiB of UTF-8). {@link #toString()} never shows the value.
 */
public record EnvVar(String name, String value) {
  public static final int MAX_NAME_BYTES = 255;
  public static final int MAX_VALUE_BYTES = 128 * 1024;
  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  public EnvVar {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(value, "value");
    if (!validName(name)) {
      throw new IllegalArgumentException("invalid environment variable name");
    }
  }

  /** The name rule (ASCII only, so its length in characters is its length in bytes). */
  public static boolean validName(String name) {
    return name != null && name.length() <= MAX_NAME_BYTES && NAME.matcher(name).matches();
  }

  @Override
  public String toString() {
    return "EnvVar[" + name + "=<redacted>]";
  }
}
