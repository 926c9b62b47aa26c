package org.teekms.kms.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Why the RA-TLS port must not run BoringSSL when CVMs carry GPU evidence, and the engine rule that
 * follows.
 *
 * <p>The failure, reproduced without Quarkus or RA-TLS: a TLS 1.3 BoringSSL server (netty-tcnative,
 * as Vert.x uses it) completes the mutual handshake with a JSSE client (as our agent and CLI are)
 * whose certificate is ~40 KiB (a CVM with about five GPUs' evidence), then its first write fails
 * ("OPENSSL_internal:internal error") and the client sees the connection closed. BoringSSL's
 * NewSessionTickets embed the client certificate; the same certificate at ~20 KiB passes. JSSE
 * freezes its ticket settings JVM-wide at its first TLS context, so the check runs only while this
 * JVM's JSSE clients still take tickets (a KMS started earlier in this JVM may have turned them
 * off, JsseLimits).
 */
class TlsEngineCustomizerTest {

  @Test
  void autoUsesJsseWhenGpuEvidenceIsVerifiedAndBoringSslOtherwise() {
    assertEquals(
        KmsConfig.TlsEngine.JDK, TlsEngineCustomizer.engine(KmsConfig.TlsEngine.AUTO, true));
    assertEquals(
        KmsConfig.TlsEngine.OPENSSL, TlsEngineCustomizer.engine(KmsConfig.TlsEngine.AUTO, false));
    assertEquals(
        KmsConfig.TlsEngine.JDK, TlsEngineCustomizer.engine(KmsConfig.TlsEngine.JDK, false));
    assertEquals(
        KmsConfig.TlsEngine.OPENSSL,
        TlsEngineCustomizer.engine(KmsConfig.TlsEngine.OPENSSL, false));
  }

  @Test
  void boringSslWithGpuVerificationRefusesToStartWithTheReason() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> TlsEngineCustomizer.engine(KmsConfig.TlsEngine.OPENSSL, true));
    assertTrue(e.getMessage().contains("32 KiB"), e.getMessage());
  }

  @Test
  void boringSslClosesTls13ConnectionsWhoseClientCertificateExceeds32KiB() throws Exception {
    Assumptions.assumeTrue(
        OpenSsl.isAvailable(), "netty-tcnative BoringSSL loads on this platform");
    Assumptions.assumeFalse(
        "false".equals(System.getProperty(JsseLimits.SERVER_SESSION_TICKETS)),
        "JSSE in this JVM may have been set up without session tickets");
    assertEquals("pong", exchange(20_000), "a ~20 KiB client certificate (two GPUs) passes");
    assertEquals(
        "CLOSED",
        exchange(40_000),
        "a ~40 KiB client certificate is dropped after the handshake: if this "
            + "fails, BoringSSL no longer has the limit and teekms.tls.engine=openssl could serve GPU CVMs again");
  }

  /**
   * One mutual TLS 1.3 exchange, BoringSSL server, JSSE client with a certificate carrying {@code
   * padding} bytes.
   */
  private static String exchange(int padding) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    KeyPair serverKey = g.generateKeyPair();
    KeyPair clientKey = g.generateKeyPair();
    SslContext server =
        SslContextBuilder.forServer(serverKey.getPrivate(), certificate(serverKey, 0))
            .sslProvider(SslProvider.OPENSSL)
            .clientAuth(ClientAuth.REQUIRE)
            .trustManager(new AcceptAll())
            .protocols("TLSv1.3")
            .build();
    SslContext client =
        SslContextBuilder.forClient()
            .sslProvider(SslProvider.JDK)
            .keyManager(clientKey.getPrivate(), certificate(clientKey, padding))
            .trustManager(new AcceptAll())
            .protocols("TLSv1.3")
            .build();
    EventLoopGroup group = new NioEventLoopGroup(2);
    try {
      CompletableFuture<String> answer = new CompletableFuture<>();
      Channel listening =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      ch.pipeline()
                          .addLast(
                              server.newHandler(ch.alloc()),
                              new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                  ((ByteBuf) msg).release();
                                  ctx.writeAndFlush(
                                      Unpooled.copiedBuffer("pong", StandardCharsets.UTF_8));
                                }

                                @Override
                                public void exceptionCaught(
                                    ChannelHandlerContext ctx, Throwable cause) {
                                  ctx.close();
                                }
                              });
                    }
                  })
              .bind("127.0.0.1", 0)
              .sync()
              .channel();
      int port = ((InetSocketAddress) listening.localAddress()).getPort();
      new Bootstrap()
          .group(group)
          .channel(NioSocketChannel.class)
          .handler(
              new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                  SslHandler tls = client.newHandler(ch.alloc(), "127.0.0.1", port);
                  ch.pipeline()
                      .addLast(
                          tls,
                          new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                              tls.handshakeFuture()
                                  .addListener(
                                      f ->
                                          ctx.writeAndFlush(
                                              Unpooled.copiedBuffer(
                                                  "ping", StandardCharsets.UTF_8)));
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                              answer.complete(((ByteBuf) msg).toString(StandardCharsets.UTF_8));
                              ((ByteBuf) msg).release();
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                              answer.complete("CLOSED");
                            }

                            @Override
                            public void exceptionCaught(
                                ChannelHandlerContext ctx, Throwable cause) {
                              ctx.close();
                            }
                          });
                }
              })
          .connect("127.0.0.1", port)
          .sync();
      return answer.get(30, TimeUnit.SECONDS);
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  private static X509Certificate certificate(KeyPair key, int padding) throws Exception {
    X500Name name = new X500Name("CN=test");
    long now = System.currentTimeMillis();
    JcaX509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            name,
            BigInteger.ONE,
            new Date(now - 60_000),
            new Date(now + 3_600_000),
            name,
            key.getPublic());
    if (padding > 0) {
      b.addExtension(
          new ASN1ObjectIdentifier("1.3.6.1.4.1.62397.9.9"),
          false,
          new DEROctetString(new byte[padding]));
    }
    return new JcaX509CertificateConverter()
        .getCertificate(
            b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
  }

  /** Accepts any peer: this test is about transport limits, not trust. */
  private static final class AcceptAll extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] c, String a) {}

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a) {}

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a, Socket s) {}

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a, Socket s) {}

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) {}

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
