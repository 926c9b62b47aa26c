package org.teekms.kms.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.teekms.attest.provider.ConfigfsTsmQuoteProvider;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerificationListener;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.kms.MutableClock;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.tls.RaTlsSetup;
import org.teekms.kms.wiring.KmsConfig;

/**
 * The KMS's own RA-TLS wiring (RaTlsSetup from teekms.* settings, the deferring trust manager,
 * RaTlsPeerAttestation as KmsService asks it at every call) over one real TLS connection that stays
 * open while the KMS's clock moves: the handshake's identity serves calls while fresh, is
 * re-verified after teekms.ratls.identity-cache-ttl, and the first call after the client
 * certificate's notAfter is refused with ATTESTATION_EXPIRED.
 */
class SessionExpiryTest {
  private static final String SEED = "0123456789abcdef0123456789abcdef";

  private final MutableClock clock = new MutableClock(System.currentTimeMillis());
  private SSLSocket client;
  private SSLSocket server;

  private static KmsConfig config(Map<String, String> extra) {
    Map<String, String> m =
        new HashMap<>(
            Map.of(
                "teekms.kms-id",
                "kms-session-expiry",
                "teekms.simulator.enabled",
                "true",
                "teekms.simulator.seed",
                SEED));
    m.putAll(extra);
    return new SmallRyeConfigBuilder()
        .withMapping(KmsConfig.class)
        .withConverter(
            Duration.class, 100, new io.quarkus.runtime.configuration.DurationConverter())
        .withSources(new PropertiesConfigSource(m, "test", 500))
        .build()
        .getConfigMapping(KmsConfig.class);
  }

  /**
   * A CVM on the KMS's simulated platform (same seed) with a certificate valid for {@code
   * validity}.
   */
  private RaTlsCredentials cvmCredentials(Duration validity) throws Exception {
    SimulatedTdx tdx =
        SimulatedTdx.enableSeeded("SessionExpiryTest CVM", clock, HexFormat.of().parseHex(SEED));
    SimulatedCvm cvm =
        tdx.newCvm(new byte[48], false)
            .boot(SimulatedCvm.App.ofCompose("services:\n  llm: {image: vllm}\n", new byte[20]));
    return new RaTlsCertificateFactory(cvm, cvm.eventLog(), null, clock, validity).create("cvm");
  }

  /**
   * Connects the CVM to the KMS's TLS endpoint (client certificates requested, as deployed) and
   * keeps it open.
   */
  private SSLSession connect(RaTlsSetup kms, RaTlsCredentials cvm) throws Exception {
    SSLContext serverCtx = RaTlsContexts.sslContext(kms.keyManager(), kms.trustManager());
    SimulatedTdx tdx =
        SimulatedTdx.enableSeeded("SessionExpiryTest CVM", clock, HexFormat.of().parseHex(SEED));
    RaTlsTrustManager cvmTrust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .clock(clock)
                .build());
    SSLContext clientCtx = RaTlsContexts.sslContext(new RaTlsKeyManager(cvm), cvmTrust);
    try (SSLServerSocket listener =
        (SSLServerSocket) serverCtx.getServerSocketFactory().createServerSocket(0)) {
      listener.setWantClientAuth(true);
      CompletableFuture<SSLSocket> accepted =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  SSLSocket s = (SSLSocket) listener.accept();
                  s.startHandshake();
                  return s;
                } catch (Exception e) {
                  throw new java.util.concurrent.CompletionException(e);
                }
              });
      client =
          (SSLSocket)
              clientCtx.getSocketFactory().createSocket("127.0.0.1", listener.getLocalPort());
      client.startHandshake();
      server = accepted.get(60, TimeUnit.SECONDS);
      return server.getSession();
    }
  }

  @AfterEach
  void close() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  /** The simulator measures into its own CVM; a real RTMR is never touched here. */
  private static final org.teekms.attest.provider.RtmrExtender SIMULATED_ONLY =
      (index, digest) -> {
        throw new IllegalStateException("no real RTMR in a simulator-mode test");
      };

  @Test
  void aConnectionKeptOpenPastItsCertificatesNotAfterIsRefusedOnItsNextCall() throws Exception {
    RaTlsSetup kms =
        new RaTlsSetup(
            config(Map.of()),
            clock,
            ConfigfsTsmQuoteProvider.Io.FILES,
            SIMULATED_ONLY,
            RaTlsVerificationListener.NONE);
    RaTlsCredentials cvm = cvmCredentials(Duration.ofHours(2));
    SSLSession session = connect(kms, cvm);
    RaTlsPeerAttestation attestation = new RaTlsPeerAttestation(kms.trustManager());
    AttestedPeer first = attestation.peer(session);

    clock.advance(
        Duration.ofMinutes(
            100)); // past the 10 min identity TTL, before notAfter (issue + 1 h 55 min)
    assertEquals(
        first.appId(), attestation.peer(session).appId(), "re-verified on the same connection");

    // 15 min past notAfter: beyond the 10 min clock-skew allowance
    // (teekms.ratls.clock-skew-allowance)
    clock.advance(Duration.ofMinutes(30));
    AdmissionDenied expired = assertThrows(AdmissionDenied.class, () -> attestation.peer(session));
    assertEquals(DenyCode.ATTESTATION_EXPIRED, expired.code());
    assertTrue(
        expired.detail().contains("re-connect with a fresh RA-TLS certificate"), expired.detail());
    assertTrue(
        !server.isClosed() && server.getSession() == session, "the same connection, still open");
  }

  @Test
  void theLifetimeCapIsTheConfiguredOne() throws Exception {
    RaTlsSetup kms =
        new RaTlsSetup(
            config(Map.of("teekms.ratls.max-certificate-lifetime", "1h")),
            clock,
            ConfigfsTsmQuoteProvider.Io.FILES,
            SIMULATED_ONLY,
            RaTlsVerificationListener.NONE);
    SSLSession session = connect(kms, cvmCredentials(Duration.ofHours(2)));
    AdmissionDenied d =
        assertThrows(
            AdmissionDenied.class,
            () -> new RaTlsPeerAttestation(kms.trustManager()).peer(session));
    assertEquals(DenyCode.ATTESTATION_INVALID, d.code());
    assertTrue(d.detail().contains("CERTIFICATE_LIFETIME_EXCEEDED"), d.detail());
    assertTrue(d.detail().contains("longer than the PT1H cap"), d.detail());
  }

  @Test
  void theDefaultsAreADayForLifetimesAndCollateralAndTenMinutesForIdentities() {
    KmsConfig c = config(Map.of());
    assertEquals(Duration.ofHours(24), c.ratls().maxCertificateLifetime());
    assertEquals(Duration.ofMinutes(10), c.ratls().identityCacheTtl());
    assertEquals(Duration.ofMinutes(10), c.ratls().clockSkewAllowance());
    assertEquals(Duration.ofHours(24), c.collateral().maxAge());
  }
}
