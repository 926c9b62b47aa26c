package org.teekms.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a benchmark ran on, printed next to its figures so that runs on different machines can be
 * told apart.
 */
public final class Machine {
  private Machine() {}

  /** The CPU model name from /proc/cpuinfo, or the OS architecture where there is none. */
  public static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).strip();
        }
      }
    } catch (Exception unavailable) {
      // not Linux
    }
    return System.getProperty("os.arch");
  }

  /**
   * JVM vendor, name and version, e.g. "Debian OpenJDK 64-Bit Server VM 17.0.15+6-Debian-1deb12u1".
   */
  public static String jvm() {
    return System.getProperty("java.vm.vendor")
        + " "
        + System.getProperty("java.vm.name")
        + " "
        + System.getProperty("java.vm.version");
  }
}
