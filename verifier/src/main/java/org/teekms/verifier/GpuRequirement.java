package org.teekms.verifier;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the expected identity demands of the CVM's GPUs (the on-chain GPU policy, or the user's
 * flags).
 *
 * @param count minimum number of GPUs whose evidence verifies; 0 = no GPU evidence required
 * @param arch required architecture name (e.g. {@code HOPPER}), "" = any
 * @param minDriverVersion minimum driver version {@code major.minor[.patch]}, empty = any
 * @param requireRims whether every GPU's measurements must have been compared with NVIDIA's RIMs
 *     (and matched)
 */
public record GpuRequirement(
    int count, String arch, Optional<String> minDriverVersion, boolean requireRims) {
  private static final Pattern VERSION =
      Pattern.compile("(\\d{1,4})\\.(\\d{1,3})(?:\\.(\\d{1,3}))?");

  /** No GPU evidence required (when present it must still verify). */
  public static final GpuRequirement NONE = new GpuRequirement(0, "", Optional.empty(), false);

  public GpuRequirement {
    Objects.requireNonNull(arch, "arch");
    Objects.requireNonNull(minDriverVersion, "minDriverVersion");
    if (count < 0) {
      throw new IllegalArgumentException("GPU count is negative");
    }
    minDriverVersion.ifPresent(GpuRequirement::driverOrder);
  }

  /**
   * At least {@code count} GPUs, RIMs compared: what a GPU policy on chain with {@code count > 0}
   * means.
   */
  public static GpuRequirement atLeast(int count, String arch, Optional<String> minDriverVersion) {
    return new GpuRequirement(count, arch, minDriverVersion, count > 0);
  }

  public boolean required() {
    return count > 0;
  }

  /**
   * A driver version as a comparable number (major·10⁶ + minor·10³ + patch, the on-chain encoding).
   *
   * @throws IllegalArgumentException when it is not {@code major.minor[.patch]}
   */
  public static long driverOrder(String version) {
    Matcher m = VERSION.matcher(version == null ? "" : version.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "driver version must be major.minor[.patch], got '" + version + "'");
    }
    long patch = m.group(3) == null ? 0 : Long.parseLong(m.group(3));
    return Long.parseLong(m.group(1)) * 1_000_000 + Long.parseLong(m.group(2)) * 1_000 + patch;
  }

  @Override
  public String toString() {
    if (count == 0) {
      return "no GPU required";
    }
    return "at least "
        + count
        + " GPU(s)"
        + (arch.isEmpty() ? "" : " of " + arch)
        + minDriverVersion.map(v -> ", driver ≥ " + v).orElse("")
        + (requireRims ? ", RIMs matched" : "");
  }
}
