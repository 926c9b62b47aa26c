package org.teekms.kms.admission;

import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.teekms.attest.gpu.GpuDevices;

/**
 * GPU facts for hand-built peers: evidence that verified, from the same devices the CVM measured at
 * boot.
 */
public final class TestGpus {
  private TestGpus() {}

  public static GpuFacts verifiedAsMeasured(List<GpuFacts.Gpu> gpus) {
    String atBoot =
        HexFormat.of()
            .formatHex(GpuDevices.digestOfHex(gpus.stream().map(GpuFacts.Gpu::deviceId).toList()));
    return new GpuFacts(true, gpus, Optional.of(atBoot));
  }
}
