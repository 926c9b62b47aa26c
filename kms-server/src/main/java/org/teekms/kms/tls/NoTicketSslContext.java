package org.teekms.kms.tls;

import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.internal.tcnative.SSL;
import javax.net.ssl.SSLEngine;

/**
 * A BoringSSL server context whose engines issue no session tickets: {@code SSL_OP_NO_TICKET} is
 * set on each engine's {@code SSL} before its handshake starts, and checked. Without tickets a
 * BoringSSL TLS 1.3 server sends nothing after the handshake (its tickets would embed the client's
 * certificate, docs/ra-tls.md §6) and cannot resume a session, so every connection presents its
 * certificate to the trust manager.
 *
 * <p>Why per engine: netty-tcnative's {@code SSLContext.*} calls take Netty's own context handle,
 * not the {@code SSL_CTX*} that {@code ReferenceCountedOpenSslContext.sslCtxPointer()} returns
 * (passing that one reads a wrong structure: no effect or a crash), and the context-level {@code
 * SSL_OP_NO_TICKET} Netty sets is cleared again by each TLS 1.3 engine's constructor unless {@code
 * jdk.tls.server.enableSessionTicketExtension=false} was set before Netty's first OpenSSL context.
 * An engine's {@code SSL*} from {@link ReferenceCountedOpenSslEngine#sslPointer()} is the right
 * handle for {@link SSL#setOptions}.
 */
final class NoTicketSslContext extends DelegatingSslContext {

  NoTicketSslContext(SslContext boringSsl) {
    super(boringSsl);
  }

  @Override
  protected void initEngine(SSLEngine engine) {
    turnTicketsOff(engine);
  }

  /**
   * Sets {@code SSL_OP_NO_TICKET} on a BoringSSL engine that has not started its handshake; fails
   * for any other engine or when the option does not hold.
   */
  static void turnTicketsOff(SSLEngine engine) {
    if (!(engine instanceof ReferenceCountedOpenSslEngine openSsl)) {
      throw new IllegalStateException(
          "session tickets cannot be turned off on a "
              + engine.getClass().getName()
              + ": the BoringSSL context made another engine");
    }
    synchronized (openSsl) {
      long ssl = openSsl.sslPointer();
      if (ssl == 0) {
        throw new IllegalStateException("session tickets cannot be turned off: engine closed");
      }
      SSL.setOptions(ssl, SSL.SSL_OP_NO_TICKET);
      if ((SSL.getOptions(ssl) & SSL.SSL_OP_NO_TICKET) == 0) {
        throw new IllegalStateException("BoringSSL did not keep SSL_OP_NO_TICKET");
      }
    }
  }
}
