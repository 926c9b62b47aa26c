package org.teekms.attest.gpu;

import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import org.teekms.crypto.Bytes;

/**
 * Simulated NVIDIA GPUs as production code sees them. Their only implementation lives in the {@code
 * tee-simulator} module, which no production artifact contains: it is found through {@link
 * ServiceLoader} when that jar is on the class path (tests, the demo, the load generator). Callers
 * enable it only on explicit configuration.
 */
public interface GpuSimulation {

  /**
   * The simulator on the class path (the thread's context class loader, then this interface's).
   *
   * @param configuredBy the setting that asked for simulation, named in the error when the
   *     simulator is absent
   * @throws IllegalStateException when the tee-simulator jar is not on the class path
   */
  static GpuSimulation load(String configuredBy) {
    ClassLoader own = GpuSimulation.class.getClassLoader();
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    return ServiceLoader.load(GpuSimulation.class, context != null ? context : own)
        .findFirst()
        .or(() -> ServiceLoader.load(GpuSimulation.class, own).findFirst())
        .orElseThrow(() -> absent(configuredBy));
  }

  /**
   * The simulator that {@code loader} finds, e.g. one over the tee-simulator jar a KMS is
   * explicitly given.
   *
   * @throws IllegalStateException when {@code loader} does not find it
   */
  static GpuSimulation load(String configuredBy, ClassLoader loader) {
    return ServiceLoader.load(GpuSimulation.class, loader)
        .findFirst()
        .orElseThrow(() -> absent(configuredBy));
  }

  private static IllegalStateException absent(String configuredBy) {
    return new IllegalStateException(
        configuredBy
            + " asks for simulated GPUs, but the tee-simulator module is "
            + "not on the class path: production artifacts do not contain it (it is for tests, the demo and the load "
            + "generator; a KMS is given its jar with teekms.simulator.classpath)");
  }

  /**
   * Evidence from {@code gpus} SIMULATED GPUs. Seeded ones share their roots with a verifier given
   * the same seed ({@link #roots}); without a seed the roots are random.
   */
  GpuEvidenceProvider evidenceProvider(int gpus, Optional<byte[]> seed);

  /** What a verifier of the GPUs simulated from {@code seed} trusts. */
  Roots roots(byte[] seed);

  /**
   * The simulator's device identity root, RIM signing root, and its signed RIMs (file name to
   * swidtag XML).
   */
  record Roots(X509Certificate deviceRoot, X509Certificate rimRoot, Map<String, Bytes> rims) {
    public Roots {
      rims = Map.copyOf(rims);
    }
  }
}
