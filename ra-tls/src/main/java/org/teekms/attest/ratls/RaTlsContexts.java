package org.teekms.attest.ratls;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Provider;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.KeyManagerFactorySpi;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;

/**
 * JSSE plumbing for frameworks that want factories (Netty's {@code SslContextBuilder}, gRPC,
 * Vert.x) or an {@link SSLContext}: each factory hands out exactly the given RA-TLS manager and
 * ignores key stores.
 */
public final class RaTlsContexts {
  private static final Provider PROVIDER =
      new Provider("teekms-ratls", "1.0", "RA-TLS trust and key managers") {
        private static final long serialVersionUID = 1L;
      };

  private RaTlsContexts() {}

  /** A TLS 1.3 context presenting {@code keys} and trusting peers through {@code trust}. */
  public static SSLContext sslContext(RaTlsKeyManager keys, RaTlsTrustManager trust) {
    try {
      SSLContext ctx = SSLContext.getInstance("TLSv1.3");
      ctx.init(new KeyManager[] {keys}, new TrustManager[] {trust}, null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("TLS 1.3 is a mandatory JDK 17 capability", e);
    }
  }

  public static TrustManagerFactory trustManagerFactory(RaTlsTrustManager trust) {
    return new TrustManagerFactory(
        new TrustManagerFactorySpi() {
          @Override
          protected void engineInit(KeyStore ks) {}

          @Override
          protected void engineInit(ManagerFactoryParameters spec) {}

          @Override
          protected TrustManager[] engineGetTrustManagers() {
            return new TrustManager[] {trust};
          }
        },
        PROVIDER,
        "RA-TLS") {};
  }

  public static KeyManagerFactory keyManagerFactory(RaTlsKeyManager keys) {
    return new KeyManagerFactory(
        new KeyManagerFactorySpi() {
          @Override
          protected void engineInit(KeyStore ks, char[] password) {}

          @Override
          protected void engineInit(ManagerFactoryParameters spec) {}

          @Override
          protected KeyManager[] engineGetKeyManagers() {
            return new KeyManager[] {keys};
          }
        },
        PROVIDER,
        "RA-TLS") {};
  }
}
