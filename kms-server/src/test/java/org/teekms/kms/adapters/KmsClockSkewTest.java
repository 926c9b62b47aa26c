package org.teekms.kms.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
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
import org.teekms.attest.ratls.RaTlsException;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerificationListener;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.kms.MutableClock;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.grpc.GrpcErrors;
import org.teekms.kms.status.ClockSkewProbe;
import org.teekms.kms.tls.RaTlsSetup;
import org.teekms.kms.wiring.KmsConfig;

/**
 * The KMS's clock off by minutes against CVMs on the true clock, over real TLS connections with the
 * KMS's own RA-TLS wiring (RaTlsSetup, the deferring trust manager, RaTlsPeerAttestation): within
 * the clock-skew allowance (default 10 min) admission works both ways; beyond it a certificate is
 * refused, and the refusal names the clock: CERTIFICATE_NOT_YET_VALID (never "expired") for the
 * client's, KMS_CLOCK_SKEW (UNAVAILABLE, retryable) once the chain shows the KMS's clock is the
 * wrong one.
 */
class KmsClockSkewTest {
  private static final String SEED = "0123456789abcdef0123456789abcdef";

  /** The true clock, the CVMs'. */
  private final Clock cvmClock =
      Clock.fixed(
          Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
          java.time.ZoneOffset.UTC);

  private static final String COMPOSE = "services:\n  llm: {image: vllm}\n";

  /** The app id the simulator derives from the compose (its first 20 bytes of SHA-256). */
  private static org.teekms.keys.AppId appOfCompose() throws Exception {
    return org.teekms.keys.AppId.of(
        java.util.Arrays.copyOf(
            java.security.MessageDigest.getInstance("SHA-256")
                .digest(COMPOSE.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
            20));
  }

  private SSLSocket client;
  private SSLSocket server;

  private static KmsConfig config(Map<String, String> extra) {
    Map<String, String> m =
        new HashMap<>(
            Map.of(
                "teekms.kms-id",
                "kms-clock-skew",
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

  /** The simulator measures into its own CVM; a real RTMR is never touched here. */
  private static final org.teekms.attest.provider.RtmrExtender SIMULATED_ONLY =
      (index, digest) -> {
        throw new IllegalStateException("no real RTMR in a simulator-mode test");
      };

  /** A KMS whose clock is {@code skew} off the true clock. */
  private RaTlsSetup kms(Duration skew, Map<String, String> config) {
    return new RaTlsSetup(
        config(config),
        new MutableClock(cvmClock.millis() + skew.toMillis()),
        ConfigfsTsmQuoteProvider.Io.FILES,
        SIMULATED_ONLY,
        RaTlsVerificationListener.NONE);
  }

  /** A CVM on the true clock, its certificate back-dated 5 minutes (the factory's default). */
  private RaTlsCredentials cvm() throws Exception {
    SimulatedTdx tdx =
        SimulatedTdx.enableSeeded("KmsClockSkewTest CVM", cvmClock, HexFormat.of().parseHex(SEED));
    SimulatedCvm cvm =
        tdx.newCvm(new byte[48], false).boot(SimulatedCvm.App.ofCompose(COMPOSE, new byte[20]));
    return new RaTlsCertificateFactory(cvm, cvm.eventLog(), null, cvmClock, Duration.ofHours(24))
        .create("cvm");
  }

  /**
   * Connects the CVM (verifying the KMS on the true clock, no allowance) to the KMS's TLS endpoint.
   */
  private SSLSession connect(RaTlsSetup kms, RaTlsCredentials cvm) throws Exception {
    SSLContext serverCtx = RaTlsContexts.sslContext(kms.keyManager(), kms.trustManager());
    SimulatedTdx tdx =
        SimulatedTdx.enableSeeded("KmsClockSkewTest CVM", cvmClock, HexFormat.of().parseHex(SEED));
    RaTlsTrustManager cvmTrust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .clock(cvmClock)
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

  /** A probe whose chain says the true time (block 42 mined now). */
  private ClockSkewProbe probe(RaTlsSetup kms, Duration skew) {
    ClockSkewProbe p =
        new ClockSkewProbe(
            () -> new ClockSkewProbe.Head(42, cvmClock.instant()),
            kms.clockSkewAllowance(),
            Duration.ofMinutes(1),
            new MutableClock(cvmClock.millis() + skew.toMillis()),
            Runnable::run);
    p.probe();
    return p;
  }

  @Test
  void aKmsTenMinutesBehindStillAdmitsFreshCertificates() throws Exception {
    RaTlsSetup kms = kms(Duration.ofMinutes(-10), Map.of());
    SSLSession session = connect(kms, cvm());
    // the CVM's certificate starts 5 minutes ago, 5 minutes in this KMS's future: within 10
    assertEquals(
        appOfCompose(), new RaTlsPeerAttestation(kms.trustManager(), true).peer(session).appId());
  }

  @Test
  void aKmsTenMinutesAheadIsStillAcceptedByClientsOnTheTrueClock() throws Exception {
    RaTlsSetup kms = kms(Duration.ofMinutes(10), Map.of());
    // its certificate is back-dated by the allowance (10 min), so its notBefore is the true now;
    // before the allowance it was back-dated 5 minutes and every client refused it
    assertEquals(cvmClock.instant(), kms.certificate().getNotBefore().toInstant());
    SSLSession session = connect(kms, cvm());
    assertEquals(
        appOfCompose(), new RaTlsPeerAttestation(kms.trustManager(), true).peer(session).appId());
  }

  @Test
  void beyondTheAllowanceAClientsFreshCertificateIsNotYetValidNeverExpired() throws Exception {
    RaTlsSetup kms = kms(Duration.ofMinutes(-30), Map.of());
    SSLSession session = connect(kms, cvm());
    AdmissionDenied d =
        assertThrows(
            AdmissionDenied.class,
            () -> new RaTlsPeerAttestation(kms.trustManager(), true).peer(session));
    assertEquals(DenyCode.CERTIFICATE_NOT_YET_VALID, d.code());
    assertTrue(d.detail().contains("not yet valid"), d.detail());
    assertEquals(Status.Code.PERMISSION_DENIED, GrpcErrors.denied(d).getStatus().getCode());
  }

  @Test
  void whenTheChainShowsTheKmsClockIsBehindTheRefusalIsKmsClockSkewAndRetryable() throws Exception {
    Duration skew = Duration.ofMinutes(-30);
    RaTlsSetup kms = kms(skew, Map.of());
    SSLSession session = connect(kms, cvm());
    AdmissionDenied d =
        assertThrows(
            AdmissionDenied.class,
            () ->
                new RaTlsPeerAttestation(kms.trustManager(), true, probe(kms, skew)).peer(session));
    assertEquals(DenyCode.KMS_CLOCK_SKEW, d.code());
    assertTrue(d.detail().contains("this node's clock is 30 min behind the chain's"), d.detail());
    assertTrue(d.detail().contains("retry later or at another node"), d.detail());
    StatusRuntimeException grpc = GrpcErrors.denied(d);
    assertEquals(Status.Code.UNAVAILABLE, grpc.getStatus().getCode());
    assertEquals("KMS_CLOCK_SKEW", grpc.getTrailers().get(GrpcErrors.DENY_REASON));
  }

  @Test
  void aClientsClockAheadIsStillTheClientsFaultWhenTheKmsClockIsRight() {
    // the KMS is on the chain's time; the certificate is from the future: refused as the client's
    ClockSkewProbe.Reading right =
        new ClockSkewProbe.Reading(
            cvmClock.instant(),
            Optional.of(new ClockSkewProbe.Head(7, cvmClock.instant())),
            Duration.ofMinutes(10),
            "");
    RaTlsException future =
        new RaTlsException(RaTlsException.Reason.CERTIFICATE_NOT_YET_VALID, "from the future");
    assertEquals(
        DenyCode.CERTIFICATE_NOT_YET_VALID,
        RaTlsPeerAttestation.refusal(future, Optional.of(right)).code());
    // a KMS ahead of the chain does not explain a certificate from the future
    ClockSkewProbe.Reading ahead =
        new ClockSkewProbe.Reading(
            cvmClock.instant(),
            Optional.of(
                new ClockSkewProbe.Head(7, cvmClock.instant().minus(Duration.ofMinutes(30)))),
            Duration.ofMinutes(10),
            "");
    assertEquals(
        DenyCode.CERTIFICATE_NOT_YET_VALID,
        RaTlsPeerAttestation.refusal(future, Optional.of(ahead)).code());
    // but it does explain an expired one
    RaTlsException expired =
        new RaTlsException(RaTlsException.Reason.CERTIFICATE_EXPIRED, "past notAfter");
    assertEquals(
        DenyCode.KMS_CLOCK_SKEW, RaTlsPeerAttestation.refusal(expired, Optional.of(ahead)).code());
    assertEquals(
        DenyCode.ATTESTATION_EXPIRED,
        RaTlsPeerAttestation.refusal(expired, Optional.of(right)).code());
    // no reading: the certificate's reason
    assertEquals(
        DenyCode.CERTIFICATE_NOT_YET_VALID,
        RaTlsPeerAttestation.refusal(future, Optional.empty()).code());
    // other failures are never blamed on the clock
    assertEquals(
        DenyCode.ATTESTATION_INVALID,
        RaTlsPeerAttestation.refusal(
                new RaTlsException(RaTlsException.Reason.QUOTE_INVALID, "bad"), Optional.of(ahead))
            .code());
  }

  @Test
  void aKmsThirtyMinutesAheadIsRefusedByClientsAsNotYetValid() throws Exception {
    RaTlsSetup kms = kms(Duration.ofMinutes(30), Map.of());
    Exception e = assertThrows(Exception.class, () -> connect(kms, cvm()));
    Throwable c = e;
    while (c != null && !(c instanceof RaTlsException)) {
      c = c.getCause();
    }
    assertTrue(c instanceof RaTlsException, "the client's reason: " + e);
    assertEquals(RaTlsException.Reason.CERTIFICATE_NOT_YET_VALID, ((RaTlsException) c).reason());
  }

  @Test
  void anAllowanceBeyondOneHourRefusesStartupNamingTheKey() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> kms(Duration.ZERO, Map.of("teekms.ratls.clock-skew-allowance", "2h")));
    assertTrue(e.getMessage().contains("teekms.ratls.clock-skew-allowance PT2H"), e.getMessage());
  }

  @Test
  void theAllowanceIsConfigurableAndZeroRestoresStrictChecks() throws Exception {
    RaTlsSetup kms = kms(Duration.ofMinutes(-3), Map.of("teekms.ratls.clock-skew-allowance", "0s"));
    assertEquals(Duration.ZERO, kms.clockSkewAllowance());
    // the CVM's certificate starts 5 min ago = 2 min in this KMS's past: still valid
    assertEquals(
        appOfCompose(),
        new RaTlsPeerAttestation(kms.trustManager(), true).peer(connect(kms, cvm())).appId());
    close();
    RaTlsSetup behind =
        kms(Duration.ofMinutes(-6), Map.of("teekms.ratls.clock-skew-allowance", "0s"));
    SSLSession session = connect(behind, cvm());
    assertEquals(
        DenyCode.CERTIFICATE_NOT_YET_VALID,
        assertThrows(
                AdmissionDenied.class,
                () -> new RaTlsPeerAttestation(behind.trustManager(), true).peer(session))
            .code());
  }
}
