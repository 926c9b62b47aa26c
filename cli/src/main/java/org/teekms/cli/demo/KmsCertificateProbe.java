package org.teekms.cli.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Fetches the RA-TLS certificate a KMS presents, without trusting it: a TLS 1.3 handshake whose
 * trust manager only records the server's certificate; we present no client certificate (the KMS
 * asks for one but serves its identity without). The caller verifies what it got with a {@code
 * RaTlsVerifier} before believing anything in it.
 */
final class KmsCertificateProbe {
  private KmsCertificateProbe() {}

  static X509Certificate fetch(int port) throws IOException {
    AtomicReference<X509Certificate> seen = new AtomicReference<>();
    X509TrustManager recorder =
        new X509TrustManager() {
          @Override
          public void checkClientTrusted(X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException("client side only");
          }

          @Override
          public void checkServerTrusted(X509Certificate[] chain, String authType) {
            if (chain != null && chain.length > 0) {
              seen.set(chain[0]);
            }
          }

          @Override
          public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
          }
        };
    try {
      SSLContext tls = SSLContext.getInstance("TLSv1.3");
      tls.init(null, new TrustManager[] {recorder}, null);
      try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), port);
          SSLSocket s =
              (SSLSocket) tls.getSocketFactory().createSocket(plain, "127.0.0.1", port, true)) {
        s.setSoTimeout(10_000);
        s.startHandshake();
      } catch (SSLException e) {
        // expected when the server insists on an attested client certificate; the server's was seen
        // first
      }
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("TLS 1.3 unavailable: " + e.getMessage(), e);
    }
    X509Certificate cert = seen.get();
    if (cert == null) {
      throw new IOException("the KMS on 127.0.0.1:" + port + " presented no TLS certificate");
    }
    return cert;
  }
}
