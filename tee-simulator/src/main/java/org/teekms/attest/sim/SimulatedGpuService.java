package org.teekms.attest.sim;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.gpu.GpuSimulation;
import org.teekms.attest.gpu.GpuSimulator;
import org.teekms.attest.gpu.SimulatedGpuEvidenceProvider;
import org.teekms.crypto.Bytes;

/**
 * {@link GpuSimulation} over {@link GpuSimulator}; registered for {@link java.util.ServiceLoader}.
 */
public final class SimulatedGpuService implements GpuSimulation {

  @Override
  public GpuEvidenceProvider evidenceProvider(int gpus, Optional<byte[]> seed) {
    return seed.map(s -> SimulatedGpuEvidenceProvider.enableSeeded(gpus, s))
        .orElseGet(() -> SimulatedGpuEvidenceProvider.enable(gpus));
  }

  @Override
  public Roots roots(byte[] seed) {
    GpuSimulator sim = GpuSimulator.seeded(GpuEvidence.MAX_GPUS, seed);
    Map<String, Bytes> rims = new LinkedHashMap<>();
    rims.put(GpuSimulator.DRIVER_RIM_FILE, Bytes.copyOf(sim.driverRim()));
    rims.put(GpuSimulator.VBIOS_RIM_FILE, Bytes.copyOf(sim.vbiosRim()));
    return new Roots(sim.deviceRoot(), sim.rimRoot(), rims);
  }
}
