package org.teekms.bench;

import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.collateral.Collateral;

/**
 * Mutual RA-TLS handshakes per second between two simulated CVMs, in memory (two {@link
 * SSLEngine}s, no sockets), TLS 1.3, with warm collateral (the DCAP verifier has checked the
 * collateral and PCK chain once).
 *
 * <ul>
 *   <li>{@code verify}: every handshake verifies both peers' RA-TLS certificates end to end
 *       (certificate signature, key binding, quote and QE signatures, TCB evaluation, event-log
 *       replay): the identity cache is off.
 *   <li>{@code cached}: the peers' identities are cached by certificate fingerprint (reconnects of
 *       known peers): the handshake's cost is TLS itself.
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RaTlsHandshakeBenchmark {
  @Param({"verify", "cached"})
  public String mode;

  private SSLContext server;
  private SSLContext client;
  private RaTlsVerifier uncachedVerifier;
  private byte[] peerCertificate;
  private java.security.cert.CertificateFactory x509;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    Clock clock = Clock.systemUTC();
    SimulatedTdx tdx = SimulatedTdx.enable("RA-TLS handshake benchmark", clock);
    Collateral collateral = tdx.collateral().toCollateral();
    DcapQuoteVerifier dcap = new DcapQuoteVerifier(tdx.rootCertificate());
    Duration ttl = mode.equals("cached") ? Duration.ofHours(1) : Duration.ZERO;
    RaTlsCredentials kms = credentials(tdx, clock, "kms");
    peerCertificate = kms.certificate().getEncoded();
    x509 = java.security.cert.CertificateFactory.getInstance("X.509");
    uncachedVerifier =
        RaTlsVerifier.builder(dcap, request -> collateral)
            .clock(clock)
            .cache(Duration.ZERO, 1)
            .build();
    verifyCertificate();
    server =
        RaTlsContexts.sslContext(
            new RaTlsKeyManager(kms),
            new RaTlsTrustManager(
                RaTlsVerifier.builder(dcap, request -> collateral)
                    .clock(clock)
                    .cache(ttl, 1000)
                    .build()));
    client =
        RaTlsContexts.sslContext(
            new RaTlsKeyManager(credentials(tdx, clock, "agent")),
            new RaTlsTrustManager(
                RaTlsVerifier.builder(dcap, request -> collateral)
                    .clock(clock)
                    .cache(ttl, 1000)
                    .build()));
    handshake(); // warms the collateral and PCK-chain caches
  }

  private static RaTlsCredentials credentials(SimulatedTdx tdx, Clock clock, String app)
      throws Exception {
    SimulatedCvm cvm =
        tdx.newCvm(new byte[48], false)
            .boot(SimulatedCvm.App.ofCompose("services: {" + app + ": {}}", new byte[20]));
    return new RaTlsCertificateFactory(cvm, cvm.eventLog(), null, clock, Duration.ofHours(24))
        .create(app);
  }

  /**
   * One RA-TLS certificate verified end to end (no identity cache, warm collateral): the trust
   * manager's work. The certificate is decoded afresh each time, as in a handshake (a JDK
   * certificate object caches its own signature check).
   */
  @Benchmark
  public Object verifyCertificate() throws Exception {
    return uncachedVerifier.verify(
        (java.security.cert.X509Certificate)
            x509.generateCertificate(new java.io.ByteArrayInputStream(peerCertificate)));
  }

  @Benchmark
  public boolean handshake() throws SSLException {
    SSLEngine s = server.createSSLEngine();
    s.setUseClientMode(false);
    s.setNeedClientAuth(true);
    SSLEngine c = client.createSSLEngine("kms", 443);
    c.setUseClientMode(true);
    return pump(c, s);
  }

  /**
   * Runs both engines until both finish the handshake. Sessions are not resumed (fresh engines, no
   * reuse).
   */
  static boolean pump(SSLEngine c, SSLEngine s) throws SSLException {
    int size =
        Math.max(c.getSession().getPacketBufferSize(), s.getSession().getPacketBufferSize()) * 4;
    ByteBuffer cToS = ByteBuffer.allocate(size);
    ByteBuffer sToC = ByteBuffer.allocate(size);
    ByteBuffer app = ByteBuffer.allocate(c.getSession().getApplicationBufferSize() * 2);
    ByteBuffer empty = ByteBuffer.allocate(0);
    c.beginHandshake();
    s.beginHandshake();
    for (int i = 0; i < 1000; i++) {
      boolean cDone = step(c, empty, cToS, sToC, app);
      boolean sDone = step(s, empty, sToC, cToS, app);
      if (cDone && sDone) {
        return true;
      }
    }
    throw new IllegalStateException("handshake did not finish");
  }

  private static boolean step(
      SSLEngine e, ByteBuffer empty, ByteBuffer out, ByteBuffer in, ByteBuffer app)
      throws SSLException {
    HandshakeStatus hs = e.getHandshakeStatus();
    switch (hs) {
      case NEED_WRAP -> e.wrap(empty, out);
      case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
        in.flip();
        SSLEngineResult r = e.unwrap(in, app);
        in.compact();
        app.clear();
        if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
          return false;
        }
      }
      case NEED_TASK -> {
        Runnable t;
        while ((t = e.getDelegatedTask()) != null) {
          t.run();
        }
      }
      default -> {
        return true;
      }
    }
    return e.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING
        || e.getHandshakeStatus() == HandshakeStatus.FINISHED;
  }
}
