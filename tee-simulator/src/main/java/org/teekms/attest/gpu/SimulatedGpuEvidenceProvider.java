package org.teekms.attest.gpu;

import java.security.SecureRandom;

/**
 * Evidence from a {@link GpuSimulator}: SIMULATED, for machines without Hopper GPUs. Enabled only
 * by calling {@link #enable}, which logs a warning; its evidence verifies only under the
 * simulator's own roots.
 */
public final class SimulatedGpuEvidenceProvider implements GpuEvidenceProvider {
  private final GpuSimulator simulator;

  private SimulatedGpuEvidenceProvider(GpuSimulator simulator) {
    this.simulator = simulator;
  }

  /** Explicitly turns simulation on for {@code gpus} GPUs. */
  public static SimulatedGpuEvidenceProvider enable(int gpus) {
    return new SimulatedGpuEvidenceProvider(GpuSimulator.create(gpus, new SecureRandom()));
  }

  /**
   * Explicitly turns simulation on for {@code gpus} GPUs derived from {@code seed} ({@link
   * GpuSimulator#seeded}).
   */
  public static SimulatedGpuEvidenceProvider enableSeeded(int gpus, byte[] seed) {
    return new SimulatedGpuEvidenceProvider(GpuSimulator.seeded(gpus, seed));
  }

  public static SimulatedGpuEvidenceProvider of(GpuSimulator simulator) {
    return new SimulatedGpuEvidenceProvider(simulator);
  }

  /** The simulator, whose roots a verifier must be given explicitly to accept this evidence. */
  public GpuSimulator simulator() {
    return simulator;
  }

  @Override
  public GpuEvidence collect(byte[] nonce) {
    return simulator.evidence(nonce);
  }
}
