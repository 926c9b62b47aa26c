package org.teekms.kms.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;
import org.teekms.kms.grpc.SourceRateLimiter;

/**
 * Bounds the attestation work TLS clients can cause before anything is known about them: verifying
 * a client's RA-TLS certificate (DCAP quote, event log, GPU evidence) is the most expensive thing
 * the KMS does for a stranger. In order, for each handshake that presents a client certificate:
 *
 * <ol>
 *   <li>its source address has budget left ({@code teekms.limits.handshakes-per-minute}, {@code
 *       handshake-burst});
 *   <li>a verification slot frees within {@code teekms.limits.verification-wait} ({@code
 *       teekms.limits.concurrent-verifications} at once);
 *   <li>then the RA-TLS trust manager verifies the certificate.
 * </ol>
 *
 * <p>Where it runs: the TLS engine hands certificate verification to a worker ({@link
 * TlsEngineCustomizer} sets Vert.x's {@code useWorkerThread}: the SSL engine's delegated tasks run
 * on Vert.x's internal blocking pool, {@code quarkus.vertx.internal-blocking-pool-size} threads),
 * so a slow verification (eight GPUs' evidence, an OCSP or RIM fetch) or a wait for a slot never
 * holds an event loop, and calls on established connections keep being served. Should a
 * verification ever arrive on an event-loop thread, it does not wait for a slot there: it takes a
 * free one or is refused at once. Each outcome is counted ({@link #outcomes}), with the thread kind
 * it ran on.
 *
 * <p>A handshake refused at 1 or 2 is not verified: it completes without an identity, its session
 * carries the reason under {@link #THROTTLED}, and every attested call on it is refused {@code
 * RATE_LIMITED} (RESOURCE_EXHAUSTED) with that reason ({@code RaTlsPeerAttestation}), so a
 * legitimate client learns to retry instead of seeing "bad certificate". Without a handshake
 * session to carry it (not the KMS's case), the handshake fails instead.
 */
public final class BoundedClientVerification extends X509ExtendedTrustManager {

  /** The handshake-session value that marks a client certificate left unverified, and why. */
  public static final String THROTTLED = "org.teekms.kms.ratls.throttled";

  private final X509ExtendedTrustManager delegate;
  private final SourceRateLimiter perSource;
  private final Semaphore slots;
  private final int concurrent;
  private final Duration wait;
  private final java.util.concurrent.atomic.LongAdder verified =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder verifiedOnEventLoop =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder rateLimited =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder slotsBusy =
      new java.util.concurrent.atomic.LongAdder();
  private final java.util.function.BooleanSupplier onEventLoop;

  /**
   * How many client certificates were verified, and how many handshakes were left unverified and
   * why.
   */
  public record Outcomes(
      long verified, long verifiedOnEventLoop, long rateLimited, long slotsBusy) {}

  /** The counts so far (exported as {@code teekms_ratls_client_handshakes_total{outcome}}). */
  public Outcomes outcomes() {
    return new Outcomes(
        verified.sum(), verifiedOnEventLoop.sum(), rateLimited.sum(), slotsBusy.sum());
  }

  public BoundedClientVerification(
      X509ExtendedTrustManager delegate,
      SourceRateLimiter perSource,
      int concurrent,
      Duration wait) {
    this(delegate, perSource, concurrent, wait, io.vertx.core.Context::isOnEventLoopThread);
  }

  /**
   * @param onEventLoop whether the calling thread is an event loop (it must not wait for a slot)
   */
  BoundedClientVerification(
      X509ExtendedTrustManager delegate,
      SourceRateLimiter perSource,
      int concurrent,
      Duration wait,
      java.util.function.BooleanSupplier onEventLoop) {
    if (concurrent < 1) {
      throw new IllegalArgumentException(
          "teekms.limits.concurrent-verifications must be at least 1, got " + concurrent);
    }
    this.delegate = delegate;
    this.perSource = perSource;
    this.slots = new Semaphore(concurrent);
    this.concurrent = concurrent;
    this.wait = wait;
    this.onEventLoop = onEventLoop;
  }

  /**
   * Takes a verification slot for a handshake from {@code source}; the refusal reason, or null when
   * a slot is held.
   */
  String admit(String source) {
    String who = source == null ? "unknown" : source;
    if (!perSource.tryAcquire(who)) {
      rateLimited.increment();
      return "source "
          + who
          + " exceeded teekms.limits.handshakes-per-minute; its certificate was not verified, "
          + "reconnect later";
    }
    boolean loop = onEventLoop.getAsBoolean();
    long waitMillis = loop ? 0 : wait.toMillis();
    try {
      if (slots.tryAcquire(waitMillis, TimeUnit.MILLISECONDS)) {
        verified.increment();
        if (loop) {
          verifiedOnEventLoop.increment();
        }
        return null;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    slotsBusy.increment();
    return "all "
        + concurrent
        + " attestation verification slots stayed busy for "
        + waitMillis
        + " ms (teekms.limits.concurrent-verifications, teekms.limits.verification-wait); reconnect later";
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    String refused = admit(engine == null ? null : engine.getPeerHost());
    if (refused != null) {
      throttled(engine == null ? null : engine.getHandshakeSession(), refused);
      return;
    }
    try {
      delegate.checkClientTrusted(chain, authType, engine);
    } finally {
      slots.release();
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    String refused =
        admit(
            socket == null || socket.getInetAddress() == null
                ? null
                : socket.getInetAddress().getHostAddress());
    if (refused != null) {
      throttled(socket instanceof SSLSocket s ? s.getHandshakeSession() : null, refused);
      return;
    }
    try {
      delegate.checkClientTrusted(chain, authType, socket);
    } finally {
      slots.release();
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    String refused = admit(null);
    if (refused != null) {
      throw new CertificateException(refused);
    }
    try {
      delegate.checkClientTrusted(chain, authType);
    } finally {
      slots.release();
    }
  }

  private static void throttled(SSLSession handshake, String reason) throws CertificateException {
    if (handshake == null) {
      throw new CertificateException(reason);
    }
    handshake.putValue(THROTTLED, reason);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    delegate.checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    delegate.checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    delegate.checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return delegate.getAcceptedIssuers();
  }
}
