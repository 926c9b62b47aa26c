package org.teekms.attest.ratls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a TLS peer (client or server) only if its certificate is an RA-TLS certificate that {@link
 * RaTlsVerifier} accepts. There is no PKI and no host name check: the attested identity is the
 * peer's name, and the application's {@link RaTlsPolicy} decides. The verified {@link
 * RaTlsIdentity} is stored in the handshake session under {@link #SESSION_KEY}; read it back with
 * {@link #peerIdentity(SSLSession)}.
 */
public final class RaTlsTrustManager extends X509ExtendedTrustManager {
  /** The {@link SSLSession} value name under which the peer's identity is stored. */
  public static final String SESSION_KEY = "org.teekms.ratls.identity";

  private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

  private final RaTlsVerifier verifier;
  private final boolean deferClientRejections;

  /** Rejecting a peer's certificate fails the handshake. */
  public RaTlsTrustManager(RaTlsVerifier verifier) {
    this(verifier, false);
  }

  private RaTlsTrustManager(RaTlsVerifier verifier, boolean deferClientRejections) {
    this.verifier = Objects.requireNonNull(verifier);
    this.deferClientRejections = deferClientRejections;
  }

  /**
   * For a server that requests (not requires) client certificates: a client certificate the
   * verifier rejects does not abort the handshake; the rejection is stored in the handshake session
   * and {@link #peerIdentity} throws it, so the application refuses the call with the exact reason
   * (a failed handshake only tells the client "bad certificate", and JSSE in request mode would
   * silently drop the certificate instead). The session never carries an identity for such a
   * client, so every attested call is still refused.
   */
  public static RaTlsTrustManager deferringClientRejections(RaTlsVerifier verifier) {
    return new RaTlsTrustManager(verifier, true);
  }

  public RaTlsVerifier verifier() {
    return verifier;
  }

  /**
   * The verified identity of the session's peer for a call made now ({@link
   * RaTlsVerifier#current}): the identity the handshake (or an earlier call) stored, while its
   * verification is within the verifier's cache limit; else the certificate verified again and
   * stored back; refused once the peer certificate has expired, so a long-lived connection (HTTP/2
   * carries many calls on one) cannot outlive its certificate. Never returns an unverified
   * identity. Call it at every request, not once per connection.
   */
  public RaTlsIdentity peerIdentity(SSLSession session)
      throws SSLPeerUnverifiedException, RaTlsException {
    if (session == null) {
      throw new SSLPeerUnverifiedException("no TLS session");
    }
    if (session.getValue(SESSION_KEY) instanceof RaTlsException rejected) {
      throw new RaTlsException(
          rejected.reason(),
          "client certificate rejected in the handshake: " + rejected.detail(),
          rejected);
    }
    if (!(session.getPeerCertificates()[0] instanceof X509Certificate peer)) {
      throw new RaTlsException(
          RaTlsException.Reason.MALFORMED_CERTIFICATE, "peer certificate is not X.509");
    }
    // stored by this session's handshake for this very certificate (a session's peer certificate
    // never changes)
    RaTlsIdentity stored = fromSession(session).orElse(null);
    RaTlsIdentity current = verifier.current(peer, stored);
    if (current != stored) {
      session.putValue(SESSION_KEY, current);
    }
    return current;
  }

  /**
   * The identity last stored in {@code session}, if any, as stored: no freshness check, so not for
   * deciding a call (use {@link #peerIdentity}).
   */
  static Optional<RaTlsIdentity> fromSession(SSLSession session) {
    Object v = session == null ? null : session.getValue(SESSION_KEY);
    return v instanceof RaTlsIdentity id ? Optional.of(id) : Optional.empty();
  }

  private void checkClient(X509Certificate[] chain, SSLSession handshake)
      throws CertificateException {
    if (!deferClientRejections || handshake == null) {
      check(chain, handshake);
      return;
    }
    try {
      check(chain, handshake);
    } catch (RaTlsException rejected) {
      handshake.putValue(SESSION_KEY, rejected);
    }
  }

  private void check(X509Certificate[] chain, SSLSession handshake) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new RaTlsException(
          RaTlsException.Reason.MALFORMED_CERTIFICATE, "peer sent no certificate");
    }
    if (chain.length != 1) {
      throw new RaTlsException(
          RaTlsException.Reason.MALFORMED_CERTIFICATE,
          "expected one self-signed RA-TLS certificate, peer sent a chain of " + chain.length);
    }
    RaTlsIdentity identity = verifier.verify(chain[0]);
    if (handshake != null) {
      handshake.putValue(SESSION_KEY, identity);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkClient(chain, engine == null ? null : engine.getHandshakeSession());
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain, engine == null ? null : engine.getHandshakeSession());
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    checkClient(chain, socket instanceof SSLSocket s ? s.getHandshakeSession() : null);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain, socket instanceof SSLSocket s ? s.getHandshakeSession() : null);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain, null);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain, null);
  }

  /** None: RA-TLS certificates are self-signed, so a server asks for any client certificate. */
  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return NO_ISSUERS;
  }
}
