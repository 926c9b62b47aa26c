package org.teekms.attest.gpu;

import java.util.Locale;

/**
 * NVIDIA GPU architectures. Only Hopper reports are verified today; Blackwell is named so policies
 * can list it.
 */
public enum GpuArchitecture {
  HOPPER,
  BLACKWELL;

  /** Parses a name case-insensitively ("hopper", "HOPPER"). */
  public static GpuArchitecture parse(String name) {
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown GPU architecture '" + name + "' (expected HOPPER or BLACKWELL)", e);
    }
  }
}
