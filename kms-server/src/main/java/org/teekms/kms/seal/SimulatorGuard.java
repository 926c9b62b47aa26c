package org.teekms.kms.seal;

/**
 * The one place that decides whether simulated trust (simulated TDX, file sealing key) may be used:
 * only with the explicit flag, and never in the prod profile. Anything else is a startup failure
 * with the reason.
 */
public final class SimulatorGuard {

  public static final String FILE_PROVIDER = "file";
  public static final String LOCAL_SGX_PROVIDER = LocalKeyProviderSealingKeyProvider.KIND;

  private SimulatorGuard() {}

  /**
   * @throws IllegalStateException when the combination is not allowed
   */
  public static void check(String profile, boolean simulatorEnabled, String sealingProvider) {
    if (simulatorEnabled && "prod".equals(profile)) {
      throw new IllegalStateException(
          "teekms.simulator.enabled=true is refused in the prod profile: simulated "
              + "attestation and sealing protect nothing");
    }
    if (FILE_PROVIDER.equals(sealingProvider) && !simulatorEnabled) {
      throw new IllegalStateException(
          "teekms.sealing.provider=file is a simulator: it needs teekms.simulator.enabled=true "
              + "(and is refused in the prod profile)");
    }
    if (!FILE_PROVIDER.equals(sealingProvider) && !LOCAL_SGX_PROVIDER.equals(sealingProvider)) {
      throw new IllegalStateException(
          "unknown teekms.sealing.provider '"
              + sealingProvider
              + "' (use "
              + LOCAL_SGX_PROVIDER
              + ", or "
              + FILE_PROVIDER
              + " with the simulator)");
    }
  }
}
