package org.teekms.kms.tls;

import io.netty.handler.ssl.OpenSsl;
import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Chooses the TLS implementation of the RA-TLS port ({@code teekms.tls.engine}). BoringSSL does the
 * handshake's X25519 key exchange and ECDSA signatures several times faster than JSSE on the KMS's
 * hot path (one full handshake per admission); trust decisions stay in Java, in the RA-TLS trust
 * manager, with either engine.
 *
 * <p>BoringSSL cannot serve CVMs that carry GPU evidence: as a TLS 1.3 server it sends
 * NewSessionTickets right after the handshake, each embedding the client's certificate, and its
 * first write fails ("OPENSSL_internal:internal error", the connection closes) once that
 * certificate exceeds about 32 KiB: four or more GPUs' evidence (docs/ra-tls.md §6, reproduced in
 * TlsEngineCustomizerTest). netty-tcnative exposes no switch for those tickets, so with GPU
 * verification on, {@code auto} picks JSSE (limits in {@link JsseLimits}) and {@code openssl}
 * refuses to start.
 *
 * <p>With either engine the handshake's delegated tasks, which include verifying the client's
 * RA-TLS certificate (DCAP, event log, GPU evidence with its OCSP and RIM fetches: seconds for
 * eight GPUs), run on Vert.x's internal blocking pool, not on the event loop ({@code
 * useWorkerThread}); {@link BoundedClientVerification} bounds them.
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
    KmsConfig.TlsEngine engine = engine(config.tls().engine(), GpuVerification.enabled(config));
    if (engine == KmsConfig.TlsEngine.JDK) {
      options.setSslEngineOptions(new JdkSSLEngineOptions().setUseWorkerThread(true));
      LOG.infof(
          "TLS engine: JDK (JSSE), client certificates verified off the event loop, handshake messages up to "
              + "%s bytes",
          System.getProperty(JsseLimits.MAX_HANDSHAKE_MESSAGE_SIZE));
      return;
    }
    if (!OpenSsl.isAvailable()) {
      throw new IllegalStateException(
          "teekms.tls.engine=openssl but netty-tcnative BoringSSL cannot be loaded on this "
              + "platform ("
              + OpenSsl.unavailabilityCause()
              + "); set teekms.tls.engine=jdk");
    }
    options.setSslEngineOptions(
        new OpenSSLEngineOptions().setSessionCacheEnabled(false).setUseWorkerThread(true));
    LOG.infof(
        "TLS engine: %s (netty-tcnative), client certificates verified off the event loop",
        OpenSsl.versionString());
  }

  /**
   * The engine to use for {@code configured}; GPU verification rules BoringSSL out (see the class
   * comment).
   */
  static KmsConfig.TlsEngine engine(KmsConfig.TlsEngine configured, boolean gpuVerified) {
    if (configured == KmsConfig.TlsEngine.AUTO) {
      return gpuVerified ? KmsConfig.TlsEngine.JDK : KmsConfig.TlsEngine.OPENSSL;
    }
    if (configured == KmsConfig.TlsEngine.OPENSSL && gpuVerified) {
      throw new IllegalStateException(
          "teekms.tls.engine=openssl cannot serve CVMs with GPU evidence: BoringSSL's TLS "
              + "1.3 server fails every client certificate over ~32 KiB (4+ GPUs); use teekms.tls.engine=auto or jdk, or "
              + "teekms.gpu.verification=disabled");
    }
    return configured;
  }
}
