package org.teekms.kms.tls;

import org.teekms.kms.wiring.KmsConfig;
import io.netty.handler.ssl.OpenSsl;
import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

/**
 * Chooses the TLS implementation of the RA-TLS port ({@code teekms.tls.engine}). BoringSSL does the handshake's
 * X25519 key exchange and ECDSA signatures several times faster than JSSE on the KMS's hot path (one full handshake
 * per admission); trust decisions stay in Java, in the RA-TLS trust manager, with either engine.
 */
@ApplicationScoped
public class TlsEngineCustomizer implements HttpServerOptionsCustomizer {

  private static final Logger LOG = Logger.getLogger(TlsEngineCustomizer.class);

  private final KmsConfig config;

  public TlsEngineCustomizer(KmsConfig config) {
    this.config = config;
  }

  @Override
  public void customizeHttpsServer(HttpServerOptions options) {
    if (config.tls().engine() == KmsConfig.TlsEngine.JDK) {
      options.setSslEngineOptions(new JdkSSLEngineOptions());
      LOG.info("TLS engine: JDK (JSSE)");
      return;
    }
    if (!OpenSsl.isAvailable()) {
      throw new IllegalStateException("teekms.tls.engine=openssl but netty-tcnative BoringSSL cannot be loaded on this "
          + "platform (" + OpenSsl.unavailabilityCause() + "); set teekms.tls.engine=jdk");
    }
    options.setSslEngineOptions(new OpenSSLEngineOptions().setSessionCacheEnabled(false));
    LOG.infof("TLS engine: %s (netty-tcnative)", OpenSsl.versionString());
  }
}
