package org.teekms.attest.sim;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Optional;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.provider.TdxSimulation;
import org.teekms.attest.tdx.collateral.CollateralSource;

/** {@link TdxSimulation} over {@link SimulatedTdx}; registered for {@link java.util.ServiceLoader}. */
public final class SimulatedTdxService implements TdxSimulation {

  @Override
  public Platform enable(String reason, Clock clock, Optional<byte[]> seed) {
    SimulatedTdx tdx = seed.map(s -> SimulatedTdx.enableSeeded(reason, clock, s))
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

  private record CvmView(SimulatedCvm cvm) implements Cvm {
    @Override
    public Cvm bootCompose(String compose, byte[] instanceId) throws QuoteProviderException {
      cvm.boot(SimulatedCvm.App.ofCompose(compose, instanceId));
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
