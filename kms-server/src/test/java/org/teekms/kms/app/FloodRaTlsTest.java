package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.kms.grpc.GrpcErrors;
import org.teekms.proto.AuditEvent;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsGrpc;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.ListAuditEventsRequest;

/**
 * Floods over real RA-TLS (grpc-java Netty clients, each source a loopback address of its own):
 * refusals that happen in the handshake are audited under the app the certificate claims, bounded
 * per source; a flood of invalid handshakes and GetKmsInfo calls is refused RATE_LIMITED while
 * legitimate CVMs keep being admitted. Counts only, no timing assertions.
 */
@QuarkusTest
@TestProfile(FloodProfile.class)
@QuarkusTestResource(EmbeddedPostgresResource.class)
class FloodRaTlsTest {

  @jakarta.inject.Inject io.micrometer.core.instrument.MeterRegistry metrics;

  private static SimulatedTdx tdx;
  private static SimulatedTdx foreign;
  private static RaTlsTrustManager clientTrust;

  @BeforeAll
  static void platform() {
    Clock clock = Clock.systemUTC();
    tdx =
        SimulatedTdx.enableSeeded(
            "FloodRaTlsTest client side", clock, HexFormat.of().parseHex(RaTlsProfile.SEED));
    // Another simulated platform (its own root CA): its quotes never verify at this KMS, but its
    // CVMs name apps.
    foreign =
        SimulatedTdx.enable("FloodRaTlsTest foreign platform: quotes the KMS must refuse", clock);
    clientTrust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .quotePolicy(QuotePolicy.builder().build())
                .clock(clock)
                .cache(Duration.ofMinutes(10), 16)
                .build());
  }

  @AfterAll
  static void clear() {
    FakeChainPolicy.ALLOWED.clear();
  }

  private static String compose(String name) {
    return "services:\n  " + name + ": {image: model}\n";
  }

  private static String composeHashHex(String compose) {
    return HexFormat.of()
        .formatHex(SimulatedCvm.App.ofCompose(compose, new byte[20]).composeHash().toByteArray());
  }

  private static byte[] appIdOf(String compose) {
    return java.util.Arrays.copyOf(
        SimulatedCvm.App.ofCompose(compose, new byte[20]).composeHash().toByteArray(), 20);
  }

  /** The RA-TLS certificate of a CVM booted on {@code platform} running {@code compose}. */
  private static RaTlsCredentials cvm(SimulatedTdx platform, String compose, int instance)
      throws Exception {
    byte[] instanceId = new byte[20];
    instanceId[19] = (byte) instance;
    SimulatedCvm cvm =
        platform.newCvm(new byte[48], false).boot(SimulatedCvm.App.ofCompose(compose, instanceId));
    return new RaTlsCertificateFactory(
            cvm, cvm.eventLog(), null, Clock.systemUTC(), Duration.ofHours(1))
        .create("cvm");
  }

  /** A channel from loopback address {@code from}, presenting {@code creds} (none when null). */
  private static ManagedChannel channel(RaTlsCredentials creds, String from) throws Exception {
    return channelOn(context(creds), from);
  }

  /** A client TLS context (JSSE) presenting {@code creds} (none when null). */
  private static SslContext context(RaTlsCredentials creds) throws Exception {
    return context(creds, SslProvider.JDK);
  }

  /** A client TLS context of {@code provider} presenting {@code creds} (none when null). */
  private static SslContext context(RaTlsCredentials creds, SslProvider provider) throws Exception {
    SslContextBuilder b =
        SslContextBuilder.forClient().trustManager(RaTlsContexts.trustManagerFactory(clientTrust));
    if (creds != null) {
      b.keyManager(RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)));
    }
    return GrpcSslContexts.configure(b, provider).build();
  }

  /** A channel from loopback address {@code from} on the client TLS context {@code ssl}. */
  private static ManagedChannel channelOn(SslContext ssl, String from) {
    return NettyChannelBuilder.forAddress("127.0.0.1", FloodProfile.PORT)
        .overrideAuthority("kms.teekms.invalid")
        .localSocketPicker(
            new NettyChannelBuilder.LocalSocketPicker() {
              @Override
              public SocketAddress createSocketAddress(
                  SocketAddress remote, io.grpc.Attributes attrs) {
                return new InetSocketAddress(from, 0);
              }
            })
        .sslContext(ssl)
        .build();
  }

  private static KmsGrpc.KmsBlockingStub kms(ManagedChannel ch) {
    return KmsGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  private static String reason(StatusRuntimeException e) {
    String r = e.getTrailers() == null ? null : e.getTrailers().get(GrpcErrors.DENY_REASON);
    return r == null ? e.getStatus().getCode().name() : r;
  }

  private double counted(String name, String tag, String value) {
    var c = metrics.find(name).tag(tag, value).functionCounter();
    return c == null ? 0 : c.count();
  }

  private static List<AuditEvent> auditOf(ManagedChannel ch, byte[] app) {
    return AuditorGrpc.newBlockingStub(ch)
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .listAuditEvents(
            ListAuditEventsRequest.newBuilder()
                .setAppId(com.google.protobuf.ByteString.copyFrom(app))
                .setPageSize(1000)
                .build())
        .getEventsList();
  }

  @Test
  void handshakeRefusalsAreAuditedUnderTheClaimedAppAndBoundedPerSource() throws Exception {
    String victim = compose("claimed-victim");
    FakeChainPolicy.ALLOWED.add(composeHashHex(victim));
    double written0 = counted("teekms.audit.claimed.refusals", "result", "written");
    double dropped0 = counted("teekms.audit.claimed.refusals", "result", "dropped");
    int attempts = 3 * FloodProfile.CLAIMED_REFUSAL_BURST;
    ManagedChannel forged = channel(cvm(foreign, victim, 1), "127.0.0.3");
    ManagedChannel auditor = channel(null, "127.0.0.1");
    try {
      for (int i = 0; i < attempts; i++) {
        StatusRuntimeException e =
            assertThrows(
                StatusRuntimeException.class,
                () -> kms(forged).getAppKeys(GetAppKeysRequest.getDefaultInstance()));
        assertEquals("ATTESTATION_INVALID", reason(e), e.getStatus().toString());
      }
      long written =
          Math.round(counted("teekms.audit.claimed.refusals", "result", "written") - written0);
      long dropped =
          Math.round(counted("teekms.audit.claimed.refusals", "result", "dropped") - dropped0);
      assertEquals(
          attempts, written + dropped, "every refusal is either audited or counted as dropped");
      assertTrue(
          written >= FloodProfile.CLAIMED_REFUSAL_BURST,
          "the source's burst is audited: " + written);
      assertTrue(dropped >= 1, "the excess is only counted: " + dropped);
      List<AuditEvent> audited = auditOf(auditor, appIdOf(victim));
      assertEquals(written, audited.size(), audited.toString());
      for (AuditEvent e : audited) {
        assertEquals("DENY_APP_KEYS_CLAIMED", e.getKind());
        assertEquals("ATTESTATION_INVALID", e.getReason());
        assertTrue(e.getDetailJson().contains("\"appIdVerified\":false"), e.getDetailJson());
        assertTrue(e.getDetailJson().contains("\"source\":\"127.0.0.3\""), e.getDetailJson());
      }
      // Another source has its own budget: its first refusal is audited even while 127.0.0.3 is
      // over.
      ManagedChannel other = channel(cvm(foreign, victim, 2), "127.0.0.4");
      try {
        assertThrows(
            StatusRuntimeException.class,
            () -> kms(other).getAppKeys(GetAppKeysRequest.getDefaultInstance()));
      } finally {
        other.shutdownNow();
      }
      assertEquals(written + 1, auditOf(auditor, appIdOf(victim)).size());
      assertTrue(
          AuditorGrpc.newBlockingStub(auditor)
              .verifyAuditChain(org.teekms.proto.VerifyAuditChainRequest.getDefaultInstance())
              .getValid());
    } finally {
      forged.shutdownNow();
      auditor.shutdownNow();
    }
  }

  @Test
  void floodOfInvalidHandshakesAndKmsInfoCallsIsRefusedWhileLegitimateAdmissionsSucceed()
      throws Exception {
    int legitCvms = 4;
    int callsPerCvm = 3;
    int kmsInfoCalls = 120;
    int forgedHandshakes = 60;
    List<RaTlsCredentials> legit = new ArrayList<>();
    for (int i = 0; i < legitCvms; i++) {
      String compose = compose("legit-" + i);
      FakeChainPolicy.ALLOWED.add(composeHashHex(compose));
      legit.add(cvm(tdx, compose, 10 + i));
    }
    RaTlsCredentials forgedCert = cvm(foreign, compose("flood-victim"), 3);
    double throttled0 = counted("teekms.ratls.client.handshakes", "outcome", "rate_limited");
    Map<String, AtomicInteger> kmsInfo = new ConcurrentHashMap<>();
    Map<String, AtomicInteger> forged = new ConcurrentHashMap<>();
    AtomicInteger admitted = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> work = new ArrayList<>();
      // The flood, from 127.0.0.2: GetKmsInfo without a client certificate (half with a nonce, i.e.
      // a fresh quote) ...
      for (int t = 0; t < 2; t++) {
        work.add(
            pool.submit(
                () -> {
                  ManagedChannel ch = channel(null, "127.0.0.2");
                  try {
                    for (int i = 0; i < kmsInfoCalls / 2; i++) {
                      GetKmsInfoRequest.Builder r = GetKmsInfoRequest.newBuilder();
                      if (i % 2 == 0) {
                        r.setNonce(com.google.protobuf.ByteString.copyFrom(new byte[32]));
                      }
                      String outcome;
                      try {
                        KmsInfoServiceGrpc.newBlockingStub(ch)
                            .withDeadlineAfter(60, TimeUnit.SECONDS)
                            .getKmsInfo(r.build());
                        outcome = "OK";
                      } catch (StatusRuntimeException e) {
                        outcome = reason(e);
                      }
                      kmsInfo.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
                    }
                  } finally {
                    ch.shutdownNow();
                  }
                  return null;
                }));
      }
      // ... and a new handshake per call with a certificate that does not verify.
      for (int t = 0; t < 2; t++) {
        work.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < forgedHandshakes / 2; i++) {
                    ManagedChannel ch = channel(forgedCert, "127.0.0.2");
                    String outcome;
                    try {
                      kms(ch).getAppKeys(GetAppKeysRequest.getDefaultInstance());
                      outcome = "OK";
                    } catch (StatusRuntimeException e) {
                      outcome = reason(e);
                    } finally {
                      ch.shutdownNow();
                    }
                    forged.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
                  }
                  return null;
                }));
      }
      // Meanwhile legitimate CVMs, from 127.0.0.1, are admitted.
      for (RaTlsCredentials creds : legit) {
        work.add(
            pool.submit(
                () -> {
                  ManagedChannel ch = channel(creds, "127.0.0.1");
                  try {
                    for (int i = 0; i < callsPerCvm; i++) {
                      assertTrue(
                          kms(ch).getAppKeys(GetAppKeysRequest.getDefaultInstance()).getKeysCount()
                              > 0);
                      admitted.incrementAndGet();
                    }
                  } finally {
                    ch.shutdownNow();
                  }
                  return null;
                }));
      }
      for (Future<?> f : work) {
        f.get(10, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(
        legitCvms * callsPerCvm,
        admitted.get(),
        "every legitimate admission succeeded during the flood");

    int infoOk = count(kmsInfo, "OK");
    int infoLimited = count(kmsInfo, "RATE_LIMITED");
    assertEquals(
        kmsInfoCalls,
        infoOk + infoLimited,
        "GetKmsInfo answered or refused RATE_LIMITED: " + kmsInfo);
    assertTrue(infoLimited >= 1 && infoOk >= 1, kmsInfo.toString());

    int forgedLimited = count(forged, "RATE_LIMITED");
    int forgedInvalid = count(forged, "ATTESTATION_INVALID");
    assertEquals(0, count(forged, "OK"));
    assertEquals(
        forgedHandshakes,
        forgedLimited + forgedInvalid,
        "refused for their quote or their rate: " + forged);
    assertTrue(forgedLimited >= 1, "the handshake budget cut the flood: " + forged);
    assertTrue(
        forgedInvalid >= 1,
        "within budget a forged certificate is verified and refused: " + forged);
    assertTrue(
        counted("teekms.ratls.client.handshakes", "outcome", "rate_limited") - throttled0
            >= forgedLimited);
    assertEquals(
        0.0,
        metrics.find("teekms.ratls.verifications.on.event.loop").functionCounter().count(),
        "every client certificate was verified off the event loop");
    assertTrue(counted("teekms.ratls.client.handshakes", "outcome", "verified") > legitCvms);
  }

  /** Client certificates the KMS looked at so far: verified, or left unverified for the budget. */
  private double handshakesCounted() {
    return counted("teekms.ratls.client.handshakes", "outcome", "verified")
        + counted("teekms.ratls.client.handshakes", "outcome", "rate_limited")
        + counted("teekms.ratls.client.handshakes", "outcome", "slots_busy");
  }

  /**
   * The load generator's flood (issue 17) was once never refused RATE_LIMITED: its forged
   * connections shared one client TLS context (BoringSSL), so with the KMS on JSSE every connection
   * after the first resumed the first one's TLS session, the KMS refused it from the rejection
   * stored in that session without looking at the certificate again, and the source's handshake
   * budget was never spent. The KMS's BoringSSL server (the default engine) issues no session
   * tickets, so nothing can be resumed: each of these connections presents its certificate, is
   * counted against the source's budget and, past the burst, refused RATE_LIMITED.
   */
  @Test
  void forgedConnectionsOnOneSharedClientContextCannotResumeAndEachSpendsTheHandshakeBudget()
      throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        io.netty.handler.ssl.OpenSsl.isAvailable(), "the load generator's BoringSSL client");
    SslContext shared = context(cvm(foreign, compose("resumed-forgery"), 4), SslProvider.OPENSSL);
    int connections = 3 * FloodProfile.HANDSHAKE_BURST;
    double looked0 = handshakesCounted();
    Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
    for (int i = 0; i < connections; i++) {
      ManagedChannel ch = channelOn(shared, "127.0.0.6");
      try {
        kms(ch).getAppKeys(GetAppKeysRequest.getDefaultInstance());
        outcomes.computeIfAbsent("OK", k -> new AtomicInteger()).incrementAndGet();
      } catch (StatusRuntimeException e) {
        outcomes.computeIfAbsent(reason(e), k -> new AtomicInteger()).incrementAndGet();
      } finally {
        ch.shutdownNow();
        ch.awaitTermination(10, TimeUnit.SECONDS);
      }
    }
    assertEquals(
        connections,
        count(outcomes, "ATTESTATION_INVALID") + count(outcomes, "RATE_LIMITED"),
        "every connection refused for its certificate or its rate: " + outcomes);
    assertTrue(count(outcomes, "RATE_LIMITED") >= 1, "the budget cut the flood: " + outcomes);
    double looked = handshakesCounted() - looked0;
    assertEquals(
        connections,
        Math.round(looked),
        "the KMS looked at the certificate of every connection (none resumed): " + outcomes);
  }

  /**
   * The load generator's flood ({@code FLOOD=N bench/kms-load.sh}) makes a full handshake per
   * forged connection, so past the source's burst it is refused RATE_LIMITED.
   */
  @Test
  void loadGeneratorFloodMakesAFullHandshakePerForgedConnectionAndIsRefusedRateLimited()
      throws Exception {
    Map<String, Long> handshakes;
    try (org.teekms.kms.bench.LoadGenerator.Flood flood =
        new org.teekms.kms.bench.LoadGenerator.Flood(
            2, Clock.systemUTC(), clientTrust, FloodProfile.PORT, "127.0.0.5")) {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      do {
        Thread.sleep(200);
        handshakes = flood.handshakeOutcomes();
      } while (handshakes.getOrDefault("RATE_LIMITED", 0L) < 3 && System.nanoTime() < deadline);
    }
    handshakes = new java.util.TreeMap<>(handshakes);
    assertTrue(
        handshakes.getOrDefault("RATE_LIMITED", 0L) >= 3,
        "the forged handshakes exceeded the source's budget and were refused for it: "
            + handshakes);
    assertEquals(0L, handshakes.getOrDefault("OK", 0L), handshakes.toString());
  }

  private static int count(Map<String, AtomicInteger> outcomes, String key) {
    AtomicInteger n = outcomes.get(key);
    return n == null ? 0 : n.get();
  }
}
