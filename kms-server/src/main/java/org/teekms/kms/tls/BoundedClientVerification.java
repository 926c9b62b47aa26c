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
 * Bounds the attestation work TLS clients can cause before anything is known about them: verifying a client's RA-TLS
 * certificate (DCAP quote, event log, GPU evidence) is the most expensive thing the KMS does for a stranger. In order,
 * for each handshake that presents a client certificate:
 *
 * <ol>
 *   <li>its source address has budget left ({@code teekms.limits.handshakes-per-minute}, {@code handshake-burst});</li>
 *   <li>a verification slot frees within {@code teekms.limits.verification-wait}
 *       ({@code teekms.limits.concurrent-verifications} at once);</li>
 *   <li>then the RA-TLS trust manager verifies the certificate.</li>
 * </ol>
 *
 * <p>A handshake refused at 1 or 2 is not verified: it completes without an identity, its session carries the reason
 * under {@link #THROTTLED}, and every attested call on it is refused {@code RATE_LIMITED} (RESOURCE_EXHAUSTED) with
 * that reason ({@code RaTlsPeerAttestation}), so a legitimate client learns to retry instead of seeing "bad
 * certificate". Without a handshake session to carry it (not the KMS's case), the handshake fails instead.
 */
public final class BoundedClientVerification extends X509ExtendedTrustManager {

  /** The handshake-session value that marks a client certificate left unverified, and why. */
  public static final String THROTTLED = "org.teekms.kms.ratls.throttled";

  private final X509ExtendedTrustManager delegate;
  private final SourceRateLimiter perSource;
  private final Semaphore slots;
  private final int concurrent;
  private final Duration wait;

  public BoundedClientVerification(X509ExtendedTrustManager delegate, SourceRateLimiter perSource, int concurrent,
      Duration wait) {
    if (concurrent < 1) {
      throw new IllegalArgumentException("teekms.limits.concurrent-verifications must be at least 1, got " + concurrent);
    }
    this.delegate = delegate;
    this.perSource = perSource;
    this.slots = new Semaphore(concurrent);
    this.concurrent = concurrent;
    this.wait = wait;
  }

  /** Takes a verification slot for a handshake from {@code source}; the refusal reason, or null when a slot is held. */
  String admit(String source) {
    String who = source == null ? "unknown" : source;
    if (!perSource.tryAcquire(who)) {
      return "source " + who + " exceeded teekms.limits.handshakes-per-minute; its certificate was not verified, "
          + "reconnect later";
    }
    try {
      if (slots.tryAcquire(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        return null;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return "all " + concurrent + " attestation verification slots stayed busy for " + wait.toMillis()
        + " ms (teekms.limits.concurrent-verifications); reconnect later";
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
    String refused = admit(socket == null || socket.getInetAddress() == null ? null
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
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
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
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate.checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return delegate.getAcceptedIssuers();
  }
}
