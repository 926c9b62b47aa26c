package org.teekms.kms.app;

import jakarta.enterprise.context.ApplicationScoped;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import org.jboss.logging.Logger;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.TcbStatus;

/**
 * The KMS's RA-TLS: its own RA-TLS certificate (presented to every client) and the trust manager that verifies
 * clients' RA-TLS certificates (quote via DCAP, event log, GPU evidence) during the handshake.
 *
 * <p>Simulator (teekms.simulator.enabled=true, never in prod): a simulated TDX platform (seeded by
 * teekms.simulator.seed so other processes share its root), this KMS as a simulated CVM, clients verified against the
 * simulated root only. Production (configfs-tsm quotes, Intel root, PCS collateral) is not wired in this build: the
 * server refuses to start rather than run without attestation.
 */
@ApplicationScoped
public class RaTlsSetup {

  private static final Logger LOG = Logger.getLogger(RaTlsSetup.class);

  private final RaTlsTrustManager trust;
  private final RaTlsKeyManager keys;
  private final SimulatedCvm self;

  public RaTlsSetup(KmsConfig config, Clock clock) {
    if (!config.simulator().enabled()) {
      throw new IllegalStateException("production RA-TLS (configfs-tsm quote provider, Intel root, PCS collateral) is "
          + "not wired in this build (kms-server/README.md, \"Status\"); enable the simulator for development");
    }
    FastEcdsaProvider.install(); // before any TLS context exists: JSSE's ECDSA then runs on BouncyCastle
    try {
      SimulatedTdx tdx = config.simulator().seed()
          .map(hex -> SimulatedTdx.enableSeeded("tee-kms kms-server simulator", clock, HexFormat.of().parseHex(hex)))
          .orElseGet(() -> SimulatedTdx.enable("tee-kms kms-server simulator", clock));
      TcbStatus[] accepted = config.admission().acceptedTcbStatuses().stream().map(TcbStatus::parse).toArray(TcbStatus[]::new);
      QuotePolicy.Builder policy = QuotePolicy.builder().allowStatuses(accepted);
      config.admission().acceptedAdvisories().ifPresent(a -> policy.allowAdvisories(a.toArray(String[]::new)));
      RaTlsVerifier verifier = RaTlsVerifier.builder(new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
          .quotePolicy(policy.build()).clock(clock).build();
      this.trust = RaTlsTrustManager.deferringClientRejections(verifier);
      byte[] instance = new byte[20];
      instance[0] = 1;
      this.self = tdx.newCvm(new byte[48], false)
          .boot(SimulatedCvm.App.ofCompose("tee-kms kms-server " + config.kmsId() + "\n", instance));
      RaTlsCredentials credentials = new RaTlsCertificateFactory(self, self.eventLog(), null, clock, Duration.ofDays(1))
          .create("tee-kms " + config.kmsId());
      this.keys = new RaTlsKeyManager(credentials);
      LOG.warnf("RA-TLS: SIMULATED TDX platform (root %s); clients are verified against the simulated root only",
          tdx.rootCertificate().getSubjectX500Principal());
    } catch (Exception e) {
      throw new IllegalStateException("RA-TLS setup failed: " + e.getMessage(), e);
    }
  }

  /** A quote of this KMS node over {@code reportData} (64 bytes) and the event log it replays against. */
  public RuntimeEventLog.QuoteWithLog quote(byte[] reportData) {
    try {
      return self.eventLog().quote(self, reportData);
    } catch (QuoteProviderException e) {
      throw new IllegalStateException("quote failed: " + e.getMessage(), e);
    }
  }

  public RaTlsTrustManager trustManager() {
    return trust;
  }

  public RaTlsKeyManager keyManager() {
    return keys;
  }

  /** The KMS certificate and key as a PKCS#12 key store in memory (what the TLS registry reports on). */
  public KeyStore keyStore() {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      RaTlsCredentials c = keys.credentials();
      ks.setKeyEntry(RaTlsKeyManager.ALIAS, c.privateKey(), new char[0], new X509Certificate[] {c.certificate()});
      return ks;
    } catch (Exception e) {
      throw new IllegalStateException("cannot build the RA-TLS key store", e);
    }
  }
}
