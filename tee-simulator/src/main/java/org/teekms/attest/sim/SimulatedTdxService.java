package org.teekms.attest.sim;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Optional;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.provider.TdxSimulation;
import org.teekms.attest.tdx.collateral.CollateralSource;

/**
 * {@link TdxSimulation} over {@link SimulatedTdx}; registered for {@link java.util.ServiceLoader}.
 */
public final class SimulatedTdxService implements TdxSimulation {

  @Override
  public Platform enable(String reason, Clock clock, Optional<byte[]> seed) {
    SimulatedTdx tdx =
        seed.map(s -> SimulatedTdx.enableSeeded(reason, clock, s))
            .orElseGet(() -> SimulatedTdx.enable(reason, clock));
    return new Platform() {
      @Override
      public X509Certificate rootCertificate() {
        return tdx.rootCertificate();
      }

      @Override
      public CollateralSource collateralSource() {
        return tdx.collateralSource();
      }

      @Override
      public Cvm newCvm(byte[] mrTd) {
        return new CvmView(tdx.newCvm(mrTd, false));
      }

      @Override
      public Cvm newCvm(byte[] mrTd, byte[] mrConfigId) {
        return new CvmView(tdx.newCvm(mrTd, false).launchWithMrConfigId(mrConfigId));
      }
    };
  }

  /**
   * The OS image hash a simulated KMS measures into RTMR3 (SHA-256 of "tee-kms simulated KMS OS
   * image v1"), as a dstack CVM does: without one, the registry's {@code isKmsAllowed} (which needs
   * an allowed OS image) could never allow a simulated KMS node, e.g. for a custodian releasing a
   * share to a recovering node.
   */
  private static final byte[] KMS_OS_IMAGE_HASH =
      org.teekms.crypto.Digests.sha256(
          "tee-kms simulated KMS OS image v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

  private record CvmView(SimulatedCvm cvm) implements Cvm {
    @Override
    public Cvm bootCompose(String compose, byte[] instanceId) throws QuoteProviderException {
      cvm.boot(SimulatedCvm.App.ofCompose(compose, instanceId).withOsImageHash(KMS_OS_IMAGE_HASH));
      return this;
    }

    @Override
    public RuntimeEventLog eventLog() {
      return cvm.eventLog();
    }

    @Override
    public byte[] quote(byte[] reportData) {
      return cvm.quote(reportData);
    }

    @Override
    public void extend(int index, byte[] sha384Digest) {
      cvm.extend(index, sha384Digest);
    }
  }
}
