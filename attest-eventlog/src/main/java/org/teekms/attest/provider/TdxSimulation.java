package org.teekms.attest.provider;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Optional;
import java.util.ServiceLoader;
import org.teekms.attest.tdx.collateral.CollateralSource;

/**
 * The simulated TDX platform as production code sees it. Its only implementation lives in the
 * {@code tee-simulator} module, which no production artifact contains: it is found through {@link
 * ServiceLoader} when that jar is on the class path (tests, the demo, the load generator), so a
 * production build cannot simulate even if misconfigured. Callers enable it only on explicit
 * configuration; enabling it logs a warning.
 */
public interface TdxSimulation {

  /**
   * The simulator on the class path (the thread's context class loader, then this interface's).
   *
   * @param configuredBy the setting that asked for simulation, named in the error when the
   *     simulator is absent
   * @throws IllegalStateException when the tee-simulator jar is not on the class path
   */
  static TdxSimulation load(String configuredBy) {
    ClassLoader own = TdxSimulation.class.getClassLoader();
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    return ServiceLoader.load(TdxSimulation.class, context != null ? context : own)
        .findFirst()
        .or(() -> ServiceLoader.load(TdxSimulation.class, own).findFirst())
        .orElseThrow(() -> absent(configuredBy));
  }

  /**
   * The simulator that {@code loader} finds, e.g. one over the tee-simulator jar a KMS is
   * explicitly given.
   *
   * @throws IllegalStateException when {@code loader} does not find it
   */
  static TdxSimulation load(String configuredBy, ClassLoader loader) {
    return ServiceLoader.load(TdxSimulation.class, loader)
        .findFirst()
        .orElseThrow(() -> absent(configuredBy));
  }

  private static IllegalStateException absent(String configuredBy) {
    return new IllegalStateException(
        configuredBy
            + " asks for the simulated TDX platform, but the tee-simulator "
            + "module is not on the class path: production artifacts do not contain it (it is for tests, the demo and "
            + "the load generator; a KMS is given its jar with teekms.simulator.classpath)");
  }

  /**
   * Turns a simulated platform on, with a warning naming {@code reason}. With a seed, every process
   * given the same seed shares its SIMULATED root; without one, its root is random.
   */
  Platform enable(String reason, Clock clock, Optional<byte[]> seed);

  /**
   * A simulated TDX platform: its SIMULATED Intel root, its collateral, and CVMs that quote under
   * it.
   */
  interface Platform {
    X509Certificate rootCertificate();

    CollateralSource collateralSource();

    /** A new, not yet booted, CVM (not a debug TD) with this MRTD. */
    Cvm newCvm(byte[] mrTd);

    /**
     * A new, not yet booted, CVM with this MRTD, launched with this 48-byte MRCONFIGID (dstack's
     * host sets {@code 0x01 ‖ SHA-256(app-compose)}, {@link
     * org.teekms.attest.eventlog.MrConfigId#v1}; zero = not bound).
     */
    Cvm newCvm(byte[] mrTd, byte[] mrConfigId);
  }

  /**
   * A simulated CVM: it quotes, its RTMRs are extended, and it keeps dstack's runtime event log.
   */
  interface Cvm extends QuoteProvider, RtmrExtender {
    /**
     * Boots an app given by its compose file: the boot events are extended into RTMR3 and recorded.
     */
    Cvm bootCompose(String compose, byte[] instanceId) throws QuoteProviderException;

    RuntimeEventLog eventLog();
  }
}
