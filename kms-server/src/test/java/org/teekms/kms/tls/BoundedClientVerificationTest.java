package org.teekms.kms.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.Test;
import org.teekms.kms.grpc.SourceRateLimiter;

/**
 * A handshake flood costs the KMS no attestation verification beyond its per-source budget and its
 * slots.
 */
class BoundedClientVerificationTest {

  /**
   * Counts the verifications it was asked for (each one is the expensive DCAP + event log + GPU
   * work).
   */
  static final class CountingVerifier extends X509ExtendedTrustManager {
    final AtomicInteger verified = new AtomicInteger();

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
      verified.incrementAndGet();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
      verified.incrementAndGet();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {
      verified.incrementAndGet();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }

  static SSLEngine engineFrom(String host) throws Exception {
    SSLEngine engine = SSLContext.getDefault().createSSLEngine(host, 443);
    engine.setUseClientMode(false);
    return engine;
  }

  @Test
  void aFloodingSourceIsNotVerifiedBeyondItsBudgetWhileOtherSourcesAre() throws Exception {
    CountingVerifier verifier = new CountingVerifier();
    AtomicLong now = new AtomicLong();
    BoundedClientVerification bounded =
        new BoundedClientVerification(
            verifier, new SourceRateLimiter(60, 20, 1000, now::get), 4, Duration.ofMillis(10));
    SSLEngine flood = engineFrom("10.0.0.66");
    int refused = 0;
    for (int i = 0; i < 1000; i++) {
      try {
        bounded.checkClientTrusted(new X509Certificate[0], "EC", flood);
      } catch (CertificateException e) {
        refused++;
        assertTrue(
            e.getMessage()
                .startsWith("source 10.0.0.66 exceeded teekms.limits.handshakes-per-minute"),
            e.getMessage());
      }
    }
    assertEquals(20, verifier.verified.get(), "only the burst was verified");
    assertEquals(980, refused);
    bounded.checkClientTrusted(new X509Certificate[0], "EC", engineFrom("10.0.0.7"));
    assertEquals(21, verifier.verified.get(), "another source is still verified");
  }

  @Test
  void atMostTheConfiguredVerificationsRunAtOnceAndSlotsAreReturned() throws Exception {
    CountingVerifier verifier = new CountingVerifier();
    AtomicLong now = new AtomicLong();
    BoundedClientVerification bounded =
        new BoundedClientVerification(
            verifier, new SourceRateLimiter(60, 1000, 1000, now::get), 2, Duration.ofMillis(20));
    // Two slots held (as by two verifications in progress): a third handshake waits, then is not
    // verified.
    assertNull(bounded.admit("10.0.0.1"));
    assertNull(bounded.admit("10.0.0.2"));
    String busy = bounded.admit("10.0.0.3");
    assertNotNull(busy);
    assertTrue(busy.startsWith("all 2 attestation verification slots stayed busy"), busy);
    CertificateException e =
        assertThrows(
            CertificateException.class,
            () -> bounded.checkClientTrusted(new X509Certificate[0], "EC", engineFrom("10.0.0.4")));
    assertTrue(e.getMessage().contains("teekms.limits.concurrent-verifications"), e.getMessage());
    assertEquals(0, verifier.verified.get());
    // With free slots, each finished verification gives its slot back.
    BoundedClientVerification free =
        new BoundedClientVerification(
            verifier, new SourceRateLimiter(60, 1000, 1000, now::get), 1, Duration.ofMillis(20));
    for (int i = 0; i < 100; i++) {
      free.checkClientTrusted(new X509Certificate[0], "EC", engineFrom("10.0.0.5"));
    }
    assertEquals(100, verifier.verified.get());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new BoundedClientVerification(
                verifier, new SourceRateLimiter(60, 1, 1, now::get), 0, Duration.ZERO));
  }

  @Test
  void onAnEventLoopAHandshakeNeverWaitsForASlotAndEveryOutcomeIsCounted() throws Exception {
    CountingVerifier verifier = new CountingVerifier();
    AtomicLong now = new AtomicLong();
    java.util.concurrent.atomic.AtomicBoolean loop =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    // A wait that would hang the test if an event loop ever waited for a slot.
    BoundedClientVerification bounded =
        new BoundedClientVerification(
            verifier,
            new SourceRateLimiter(60, 2, 1000, now::get),
            1,
            Duration.ofHours(1),
            loop::get);
    assertNull(bounded.admit("10.0.0.1"), "a free slot is taken even on an event loop");
    String busy =
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
            Duration.ofMinutes(1), () -> bounded.admit("10.0.0.1"));
    assertTrue(busy != null && busy.contains("stayed busy for 0 ms"), busy);
    String limited = bounded.admit("10.0.0.1");
    assertTrue(
        limited != null && limited.contains("handshakes-per-minute"),
        "the source's burst of 2 is spent: " + limited);
    assertEquals(new BoundedClientVerification.Outcomes(1, 1, 1, 1), bounded.outcomes());
    // Off the event loop (where the TLS engine's delegated tasks run) the configured wait applies
    // and is counted apart.
    loop.set(false);
    BoundedClientVerification worker =
        new BoundedClientVerification(
            verifier,
            new SourceRateLimiter(60, 1000, 1000, now::get),
            1,
            Duration.ofMillis(20),
            loop::get);
    for (int i = 0; i < 10; i++) {
      worker.checkClientTrusted(new X509Certificate[0], "EC", engineFrom("10.0.0.9"));
    }
    assertEquals(new BoundedClientVerification.Outcomes(10, 0, 0, 0), worker.outcomes());
    assertEquals(10, verifier.verified.get());
  }
}
