package org.teekms.attest.ratls;

import java.time.Clock;
import java.time.Duration;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.Collateral;

/**
 * A simulated platform, its collateral, and helpers to make CVMs with RA-TLS credentials (shared by
 * tests).
 */
public final class SimulatedRaTls {
  public static final Clock CLOCK = Clock.systemUTC();
  public static final SimulatedTdx TDX = SimulatedTdx.enable("RA-TLS tests", CLOCK);
  public static final Collateral COLLATERAL = TDX.collateral().toCollateral();

  private SimulatedRaTls() {}

  public static SimulatedCvm cvm(String compose, boolean debug) throws Exception {
    byte[] instance = new byte[20];
    instance[0] = (byte) compose.hashCode();
    return TDX.newCvm(new byte[48], debug).boot(SimulatedCvm.App.ofCompose(compose, instance));
  }

  public static RaTlsCertificateFactory factory(SimulatedCvm cvm, GpuEvidenceProvider gpu) {
    return new RaTlsCertificateFactory(cvm, cvm.eventLog(), gpu, CLOCK, Duration.ofHours(24));
  }

  public static RaTlsCredentials credentials(String compose) throws Exception {
    return factory(cvm(compose, false), null).create(compose);
  }

  /**
   * A verifier anchored at the simulated root with the simulated collateral and the production
   * quote policy.
   */
  public static RaTlsVerifier.Builder verifier() {
    return RaTlsVerifier.builder(
            new DcapQuoteVerifier(TDX.rootCertificate()), request -> COLLATERAL)
        .quotePolicy(QuotePolicy.builder().build())
        .clock(CLOCK);
  }
}
