package org.teekms.kms.tls;

import io.netty.handler.ssl.OpenSsl;
import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Chooses the TLS implementation of the RA-TLS port ({@code teekms.tls.engine}). BoringSSL does the
 * handshake's X25519 key exchange and ECDSA signatures several times faster than JSSE on the KMS's
 * hot path (one full handshake per admission); trust decisions stay in Java, in the RA-TLS trust
 * manager, with either engine.
 *
 * <p>BoringSSL serves CVMs that carry GPU evidence (client certificates up to 128 KiB, eight GPUs:
 * ~60-80 KiB) because the KMS's BoringSSL context issues no session tickets ({@link
 * BoringSslEngineOptions}): as a TLS 1.3 server with tickets, BoringSSL embeds the client's
 * certificate in them and its first write fails once that certificate exceeds about 32 KiB
 * (docs/ra-tls.md §6, reproduced in TlsEngineCustomizerTest). So {@code auto} picks BoringSSL;
 * {@code jdk} (limits in {@link JsseLimits}) stays selectable.
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
    KmsConfig.TlsEngine engine = engine(config.tls().engine());
    if (engine == KmsConfig.TlsEngine.JDK) {
      options.setSslEngineOptions(new JdkSSLEngineOptions().setUseWorkerThread(true));
      LOG.infof(
          "TLS engine: JDK (JSSE), client certificates verified off the event loop, handshake messages up to "
              + "%s bytes",
          System.getProperty(JsseLimits.MAX_HANDSHAKE_MESSAGE_SIZE));
      return;
    }
    if (!OpenSsl.isAvailable()) {
      Throwable cause = OpenSsl.unavailabilityCause();
      throw new IllegalStateException(
          "teekms.tls.engine="
              + config.tls().engine().name().toLowerCase(java.util.Locale.ROOT)
              + " uses BoringSSL (netty-tcnative), which cannot be loaded on this platform ("
              + (cause == null ? "no reason given" : cause.getMessage())
              + "); set teekms.tls.engine=jdk");
    }
    options.setSslEngineOptions(new BoringSslEngineOptions().setUseWorkerThread(true));
    LOG.infof(
        "TLS engine: %s (netty-tcnative), client certificates verified off the event loop, up to %d "
            + "bytes, no session tickets",
        OpenSsl.versionString(), JsseLimits.MAX_HANDSHAKE_MESSAGE_BYTES);
  }

  /** The engine to use for {@code configured}: {@code auto} is BoringSSL. */
  static KmsConfig.TlsEngine engine(KmsConfig.TlsEngine configured) {
    if (configured == KmsConfig.TlsEngine.AUTO) {
      return KmsConfig.TlsEngine.OPENSSL;
    }
    return configured;
  }
}
