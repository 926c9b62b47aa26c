package org.teekms.kms.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
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
import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.SimpleTrustManagerFactory;
import io.netty.internal.tcnative.SSL;
import io.netty.util.ReferenceCountUtil;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.teekms.kms.wiring.KmsConfig;

/**
 * The RA-TLS port's TLS engine: BoringSSL serves CVM certificates with GPU evidence (up to 128 KiB)
 * once it sends no session tickets, and the engine rule that follows.
 *
 * <p>The failure, reproduced without Quarkus or RA-TLS: a TLS 1.3 BoringSSL server (netty-tcnative,
 * as Vert.x uses it) with session tickets on completes the mutual handshake with a JSSE client (as
 * our agent and CLI are) whose certificate is ~33-64 KiB (a CVM with four to eight GPUs' evidence),
 * then its first write fails ("OPENSSL_internal:internal error") and the client sees the connection
 * closed: its NewSessionTickets embed the client certificate. Netty turns tickets on for every TLS
 * 1.3 engine unless {@code jdk.tls.server.enableSessionTicketExtension=false} was set before its
 * first OpenSSL context, so the reproduction turns them on per engine itself, whatever this JVM's
 * properties; the KMS's context ({@link BoringSslEngineOptions}) turns them off per engine.
 */
class TlsEngineCustomizerTest {

  @Test
  void autoIsBoringSslAndJdkStaysSelectable() {
    assertEquals(KmsConfig.TlsEngine.OPENSSL, TlsEngineCustomizer.engine(KmsConfig.TlsEngine.AUTO));
    assertEquals(
        KmsConfig.TlsEngine.OPENSSL, TlsEngineCustomizer.engine(KmsConfig.TlsEngine.OPENSSL));
    assertEquals(KmsConfig.TlsEngine.JDK, TlsEngineCustomizer.engine(KmsConfig.TlsEngine.JDK));
  }

  @Test
  void boringSslWithSessionTicketsClosesConnectionsWhoseClientCertificateIs33To64KiB()
      throws Exception {
    assumeBoringSsl();
    SslContext server = new TicketsOn(netty(SslProvider.OPENSSL, new CountingTrust()));
    assertEquals("pong", exchange(server, client(kib(20))), "a ~20 KiB certificate passes");
    for (int size : new int[] {33, 40, 60}) {
      assertEquals(
          "CLOSED",
          exchange(server, client(kib(size))),
          "a ~"
              + size
              + " KiB client certificate is dropped after the handshake while BoringSSL sends "
              + "tickets: if this fails, BoringSSL no longer has the limit");
    }
  }

  @ParameterizedTest(name = "{0} KiB")
  @ValueSource(ints = {20, 33, 40, 60, 70, 100})
  void kmsBoringSslServesClientCertificatesUpTo128KiB(int size) throws Exception {
    assumeBoringSsl();
    CountingTrust trust = new CountingTrust();
    assertEquals("pong", exchange(kmsBoringSsl(trust), client(kib(size))));
    assertEquals(1, trust.checks.get(), "the certificate went through the trust manager");
  }

  @Test
  void kmsBoringSslRefusesClientCertificatesOver128KiBAsJsseDoes() throws Exception {
    assumeBoringSsl();
    CountingTrust trust = new CountingTrust();
    assertEquals(
        "CLOSED",
        exchange(kmsBoringSsl(trust), client(kib(130))),
        "a certificate over 128 KiB fails the handshake");
    assertEquals(0, trust.checks.get(), "refused before the trust manager is asked");
  }

  @Test
  void kmsBoringSslResumesNoSessionSoEveryConnectionIsCheckedAgain() throws Exception {
    assumeBoringSsl();
    CountingTrust withTickets = new CountingTrust();
    SslContext client = client(0);
    try (Loopback ticketsOn =
        new Loopback(new TicketsOn(netty(SslProvider.OPENSSL, withTickets)))) {
      for (int i = 0; i < 3; i++) {
        assertEquals("pong", ticketsOn.exchange(client));
      }
    }
    assertEquals(
        1,
        withTickets.checks.get(),
        "control: with tickets one JSSE client context resumes, skipping the trust manager");

    CountingTrust kms = new CountingTrust();
    SslContext sameClient = client(0);
    try (Loopback server = new Loopback(kmsBoringSsl(kms))) {
      for (int i = 0; i < 3; i++) {
        assertEquals("pong", server.exchange(sameClient));
      }
    }
    assertEquals(3, kms.checks.get(), "each of 3 connections presented its certificate");
  }

  @Test
  void kmsBoringSslEnginesCarryNoTicketBeforeTheirHandshake() throws Exception {
    assumeBoringSsl();
    SslContext server = kmsBoringSsl(new CountingTrust());
    SSLEngine engine = server.newEngine(UnpooledByteBufAllocator.DEFAULT);
    try {
      long ssl = ((ReferenceCountedOpenSslEngine) engine).sslPointer();
      assertTrue((SSL.getOptions(ssl) & SSL.SSL_OP_NO_TICKET) != 0);
    } finally {
      ReferenceCountUtil.release(engine);
    }
  }

  @Test
  void turningTicketsOffRefusesAnEngineThatIsNotBoringSsl() throws Exception {
    SSLEngine jdk = javax.net.ssl.SSLContext.getDefault().createSSLEngine();
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> NoTicketSslContext.turnTicketsOff(jdk));
    assertTrue(e.getMessage().startsWith("session tickets cannot be turned off"), e.getMessage());
  }

  private static void assumeBoringSsl() {
    Assumptions.assumeTrue(
        OpenSsl.isAvailable(), "netty-tcnative BoringSSL loads on this platform");
  }

  private static int kib(int n) {
    return n * 1024;
  }

  /** The RA-TLS port's server context, built as Vert.x builds it from the KMS's options. */
  private static SslContext kmsBoringSsl(CountingTrust trust) throws Exception {
    KeyPair key = ecKey();
    char[] password = "test".toCharArray();
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry(
        "kms", key.getPrivate(), password, new X509Certificate[] {certificate(key, 0)});
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, password);
    return new BoringSslEngineOptions()
        .sslContextFactory()
        .forClient(false)
        .keyMananagerFactory(keys)
        .trustManagerFactory(trust.factory())
        .clientAuth(ClientAuth.REQUIRE)
        .create();
  }

  private static SslContext netty(SslProvider provider, CountingTrust trust) throws Exception {
    KeyPair key = ecKey();
    return SslContextBuilder.forServer(key.getPrivate(), certificate(key, 0))
        .sslProvider(provider)
        .clientAuth(ClientAuth.REQUIRE)
        .trustManager(trust.factory())
        .protocols("TLSv1.3")
        .build();
  }

  /** A JSSE client context (as the agent and CLI use) whose certificate carries padding bytes. */
  private static SslContext client(int padding) throws Exception {
    KeyPair key = ecKey();
    return SslContextBuilder.forClient()
        .sslProvider(SslProvider.JDK)
        .keyManager(key.getPrivate(), certificate(key, padding))
        .trustManager(new CountingTrust().factory())
        .protocols("TLSv1.3")
        .build();
  }

  private static KeyPair ecKey() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    return g.generateKeyPair();
  }

  /** Netty's TLS 1.3 default without the JVM property: tickets on, per engine. */
  private static final class TicketsOn extends DelegatingSslContext {
    TicketsOn(SslContext boringSsl) {
      super(boringSsl);
    }

    @Override
    protected void initEngine(SSLEngine engine) {
      SSL.clearOptions(((ReferenceCountedOpenSslEngine) engine).sslPointer(), SSL.SSL_OP_NO_TICKET);
    }
  }

  /** One mutual TLS 1.3 exchange on a fresh loopback server of {@code server}'s context. */
  private static String exchange(SslContext server, SslContext client) throws Exception {
    try (Loopback loopback = new Loopback(server)) {
      return loopback.exchange(client);
    }
  }

  /**
   * A loopback TLS server on {@code server}'s context answering "pong"; one server for several
   * connections, so that a client context may resume its session (JSSE keys sessions by host and
   * port).
   */
  private static final class Loopback implements AutoCloseable {
    private final EventLoopGroup group = new NioEventLoopGroup(2);
    private final Channel listening;
    private final int port;

    Loopback(SslContext server) throws InterruptedException {
      listening =
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
      port = ((InetSocketAddress) listening.localAddress()).getPort();
    }

    /**
     * One connection from {@code client}: "pong" when the server answered the client's "ping",
     * "CLOSED" when the connection closed first.
     */
    String exchange(SslContext client) throws Exception {
      CompletableFuture<String> answer = new CompletableFuture<>();
      Channel connection =
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
              .sync()
              .channel();
      String result = answer.get(30, TimeUnit.SECONDS);
      connection.close().sync();
      return result;
    }

    @Override
    public void close() throws InterruptedException {
      listening.close().sync();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
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

  /**
   * Accepts any peer and counts the client certificates it was asked about: this test is about
   * transport limits and resumption, not trust.
   */
  private static final class CountingTrust extends X509ExtendedTrustManager {
    final AtomicInteger checks = new AtomicInteger();

    TrustManagerFactory factory() {
      X509ExtendedTrustManager self = this;
      return new SimpleTrustManagerFactory() {
        @Override
        protected void engineInit(KeyStore keyStore) {}

        @Override
        protected void engineInit(ManagerFactoryParameters parameters) {}

        @Override
        protected TrustManager[] engineGetTrustManagers() {
          return new TrustManager[] {self};
        }
      };
    }

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a) {
      checks.incrementAndGet();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a) {}

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a, Socket s) {
      checks.incrementAndGet();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a, Socket s) {}

    @Override
    public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) {
      checks.incrementAndGet();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
