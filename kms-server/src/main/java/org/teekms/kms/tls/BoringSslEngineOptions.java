package org.teekms.kms.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.OpenSslServerSessionContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.spi.tls.SslContextFactory;
import java.util.List;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

/**
 * BoringSSL (netty-tcnative) for the RA-TLS port, set up for CVM certificates that carry GPU
 * evidence (docs/ra-tls.md §6):
 *
 * <ol>
 *   <li><b>No session tickets</b>: every server engine gets {@code SSL_OP_NO_TICKET} before its
 *       handshake ({@link NoTicketSslContext}). BoringSSL's TLS 1.3 NewSessionTickets embed the
 *       client certificate and its first write after the handshake fails for certificates of ~32-64
 *       KiB; without tickets nothing is sent after the handshake, and no connection can resume a
 *       session, so every connection's certificate goes through the RA-TLS trust manager. Netty
 *       sets this option on the context already, but clears it again on each TLS 1.3 engine unless
 *       {@code jdk.tls.server.enableSessionTicketExtension=false} was set before its first OpenSSL
 *       context; the per-engine option holds whatever the JVM's properties and their order.
 *   <li><b>Client certificates up to {@link JsseLimits#MAX_HANDSHAKE_MESSAGE_BYTES}</b> (128 KiB,
 *       BoringSSL's default is 100 KiB), the same bound the JSSE engine applies.
 *   <li>No server-side session cache (TLS 1.2 session ids), whatever {@link
 *       #setSessionCacheEnabled} says.
 * </ol>
 *
 * The trust decision stays with the trust manager Vert.x passes in, as with JSSE.
 */
public final class BoringSslEngineOptions extends OpenSSLEngineOptions {

  public BoringSslEngineOptions() {
    setSessionCacheEnabled(false);
  }

  private BoringSslEngineOptions(BoringSslEngineOptions other) {
    super(other);
    setSessionCacheEnabled(false);
  }

  @Override
  public BoringSslEngineOptions copy() {
    return new BoringSslEngineOptions(this);
  }

  @Override
  public SslContextFactory sslContextFactory() {
    return new Factory();
  }

  /** Builds the Netty context the way Vert.x's default factory does, plus the rules above. */
  private static final class Factory implements SslContextFactory {
    private boolean client;
    private boolean useAlpn;
    private ClientAuth clientAuth;
    private KeyManagerFactory keyManagers;
    private TrustManagerFactory trustManagers;
    private Set<String> cipherSuites;
    private List<String> applicationProtocols;

    @Override
    public SslContextFactory useAlpn(boolean useAlpn) {
      this.useAlpn = useAlpn;
      return this;
    }

    @Override
    public SslContextFactory clientAuth(ClientAuth clientAuth) {
      this.clientAuth = clientAuth;
      return this;
    }

    @Override
    public SslContextFactory forClient(boolean forClient) {
      this.client = forClient;
      return this;
    }

    @Override
    public SslContextFactory keyMananagerFactory(KeyManagerFactory factory) {
      this.keyManagers = factory;
      return this;
    }

    @Override
    public SslContextFactory trustManagerFactory(TrustManagerFactory factory) {
      this.trustManagers = factory;
      return this;
    }

    @Override
    public SslContextFactory enabledCipherSuites(Set<String> suites) {
      this.cipherSuites = suites;
      return this;
    }

    @Override
    public SslContextFactory applicationProtocols(List<String> protocols) {
      this.applicationProtocols = protocols;
      return this;
    }

    @Override
    public SslContext create() throws SSLException {
      SslContextBuilder builder;
      if (client) {
        builder = SslContextBuilder.forClient();
        if (keyManagers != null) {
          builder.keyManager(keyManagers);
        }
      } else {
        builder = SslContextBuilder.forServer(keyManagers);
      }
      builder
          .sslProvider(SslProvider.OPENSSL)
          .ciphers(
              cipherSuites == null || cipherSuites.isEmpty()
                  ? OpenSsl.availableOpenSslCipherSuites()
                  : cipherSuites)
          .option(
              OpenSslContextOption.MAX_CERTIFICATE_LIST_BYTES,
              JsseLimits.MAX_HANDSHAKE_MESSAGE_BYTES);
      if (trustManagers != null) {
        builder.trustManager(trustManagers);
      }
      if (useAlpn && applicationProtocols != null && !applicationProtocols.isEmpty()) {
        builder.applicationProtocolConfig(
            new ApplicationProtocolConfig(
                ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                applicationProtocols));
      }
      if (clientAuth != null) {
        builder.clientAuth(clientAuth);
      }
      SslContext context = builder.build();
      if (client) {
        return context;
      }
      if (context.sessionContext() instanceof OpenSslServerSessionContext sessions) {
        sessions.setSessionCacheEnabled(false);
      }
      return new NoTicketSslContext(context);
    }
  }
}
