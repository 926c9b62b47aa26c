package org.teekms.governance;

import java.util.Objects;

/**
 * GPU requirements (Solidity struct {@code GpuPolicy}). count 0 = no GPU required.
 *
 * @param count minimum number of attested GPUs
 * @param arch required architecture, "" = any
 * @param minDriverVersion minimum driver version ({@link DriverVersion} encoding), 0 = any
 */
public record GpuPolicy(int count, String arch, long minDriverVersion) {
  public static final GpuPolicy NONE = new GpuPolicy(0, "", 0);

  public GpuPolicy {
    Objects.requireNonNull(arch, "arch");
    if (count < 0) throw new IllegalArgumentException("count is negative");
    if (minDriverVersion < 0 || minDriverVersion > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("minDriverVersion out of uint32 range");
    }
  }
}
