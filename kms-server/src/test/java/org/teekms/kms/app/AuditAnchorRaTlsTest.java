package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.vertx.mutiny.sqlclient.Pool;
import jakarta.inject.Inject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.cli.TeeKmsCli;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.keys.AppId;
import org.teekms.kms.audit.AuditAnchorWorker;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.web3j.crypto.Credentials;

/**
 * Audit anchoring end to end on a real chain (anvil): the owner names the KMS's kms-audit-anchor
 * account (read from GetKmsInfo over RA-TLS) as the registry's auditAnchorer, the KMS anchors its
 * head by itself, {@code teekms audit verify --anchored} passes, and after the database is
 * rewritten consistently by hand (so the KMS's own check and a plain recomputation both say valid)
 * it fails against the anchor, and the KMS refuses to anchor the rewritten log.
 */
@QuarkusTest
@TestProfile(AuditAnchorProfile.class)
@QuarkusTestResource(value = AnvilRegistryResource.class, restrictToAnnotatedClass = true)
class AuditAnchorRaTlsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static SimulatedTdx tdx;

  @Inject Pool pool;
  @Inject AuditLog audit;
  @Inject AuditAnchorWorker anchorWorker;

  @BeforeAll
  static void platform() {
    tdx =
        SimulatedTdx.enableSeeded(
            "AuditAnchorRaTlsTest client side",
            Clock.systemUTC(),
            HexFormat.of().parseHex(RaTlsProfile.SEED));
  }

  private static String config(String key) {
    return ConfigProvider.getConfig().getValue(key, String.class);
  }

  private static Credentials key(String name) throws Exception {
    return Credentials.create(
        Files.readString(Path.of(config("rotation-it.keys-dir")).resolve(name)).trim());
  }

  record Run(int exit, JsonNode json) {}

  private static Run verify(String... args) throws Exception {
    Path dir = Files.createTempDirectory("teekms-anchor-it");
    String root = Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem()).toString();
    String collateral = tdx.collateral().writeTo(dir.resolve("collateral")).toString();
    StringWriter out = new StringWriter();
    picocli.CommandLine c = TeeKmsCli.newCommandLine();
    c.setOut(new PrintWriter(out));
    c.setErr(new PrintWriter(new StringWriter()));
    String[] common = {
      "audit",
      "verify",
      "--kms",
      "127.0.0.1:" + AuditAnchorProfile.PORT,
      "--root-ca",
      root,
      "--collateral",
      collateral
    };
    String[] all = Arrays.copyOf(common, common.length + args.length);
    System.arraycopy(args, 0, all, common.length, args.length);
    int exit = c.execute(all);
    return new Run(exit, out.toString().isBlank() ? null : JSON.readTree(out.toString()));
  }

  private static String[] anchored() {
    return new String[] {
      "--anchored",
      "--rpc-url",
      config("teekms.chain.rpc-url"),
      "--chain-id",
      String.valueOf(AnvilNode.CHAIN_ID),
      "--registry",
      config("teekms.chain.registry-address")
    };
  }

  private static String anchorerAddress() throws Exception {
    RaTlsTrustManager trust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .quotePolicy(QuotePolicy.builder().build())
                .clock(Clock.systemUTC())
                .build());
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", AuditAnchorProfile.PORT)
            .overrideAuthority("kms.teekms.invalid")
            .sslContext(
                GrpcSslContexts.configure(
                        SslContextBuilder.forClient()
                            .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                        SslProvider.JDK)
                    .build())
            .build();
    try {
      KmsInfo info =
          KmsInfoServiceGrpc.newBlockingStub(ch)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
      return "0x"
          + HexFormat.of().formatHex(info.getGenerations(0).getAuditAnchorAddress().toByteArray());
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static void fund(String address) throws Exception {
    String body =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"anvil_setBalance\",\"params\":[\""
            + address
            + "\",\"0x56BC75E2D63100000\"]}";
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(config("teekms.chain.rpc-url")))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertTrue(r.body().contains("\"result\""), r.body());
  }

  private KmsRegistry.AuditAnchor waitForAnchorAtLeast(ChainClient chain, long count)
      throws Exception {
    KmsRegistry registry = KmsRegistry.at(chain, config("teekms.chain.registry-address"), null);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      KmsRegistry.AuditAnchor a = registry.latestAuditAnchor();
      if (a.entryCount() >= count) {
        return a;
      }
      assertTrue(
          System.nanoTime() < deadline,
          "no anchor of " + count + " entries within 60 s, latest " + a.entryCount());
      Thread.sleep(250);
    }
  }

  @Test
  void kmsAnchorsItsHeadAndARewrittenHistoryFailsAgainstTheAnchor() throws Exception {
    String registryAddress = config("teekms.chain.registry-address");
    try (ChainClient chain =
        ChainClient.connect(config("teekms.chain.rpc-url"), AnvilNode.CHAIN_ID)) {
      // Before the owner names it, the KMS's account may not anchor (nor may a stranger).
      GovernanceException stranger =
          assertThrows(
              GovernanceException.class,
              () ->
                  KmsRegistry.at(chain, registryAddress, key("stranger.key"))
                      .anchorAuditHead(HexFormat.of().parseHex("11".repeat(32)), 1));
      assertTrue(
          stranger.getMessage().contains("not the owner or the audit anchorer"),
          stranger.getMessage());
      String anchorer = anchorerAddress();
      fund(anchorer);
      KmsRegistry owner = KmsRegistry.at(chain, registryAddress, key("owner.key"));
      owner.setAuditAnchorer(anchorer);

      byte[] app = new byte[20];
      app[19] = 0x16;
      AuditEntry last = null;
      for (int i = 0; i < 3; i++) {
        last =
            audit
                .appendAlone(
                    AuditDraft.denied(
                        "DENY_APP_KEYS", AppId.of(app), "TCB_NOT_ACCEPTED", "{\"n\":" + i + "}"))
                .await()
                .atMost(WAIT);
      }
      KmsRegistry.AuditAnchor anchor = waitForAnchorAtLeast(chain, last.seq());
      assertEquals(last.seq(), anchor.entryCount());
      assertEquals(last.entryHash().hex(), anchor.head().hex());

      Run ok = verify(anchored());
      assertEquals(0, ok.exit(), String.valueOf(ok.json()));
      assertEquals(anchor.entryCount(), ok.json().get("anchor").get("entryCount").asLong());

      // The registry refuses a step backwards, even from its owner.
      GovernanceException backwards =
          assertThrows(
              GovernanceException.class,
              () ->
                  owner.anchorAuditHead(
                      HexFormat.of().parseHex("22".repeat(32)), anchor.entryCount()));
      assertTrue(
          backwards.getMessage().contains("audit head differs at the anchored count"),
          backwards.getMessage());
      assertThrows(
          GovernanceException.class,
          () ->
              owner.anchorAuditHead(
                  HexFormat.of().parseHex("22".repeat(32)), anchor.entryCount() - 1));

      // Rewrite the whole history consistently by hand, head included.
      pool.query("ALTER TABLE audit_log DISABLE TRIGGER USER").execute().await().atMost(WAIT);
      try {
        rewriteFrom(1);
      } finally {
        pool.query("ALTER TABLE audit_log ENABLE TRIGGER USER").execute().await().atMost(WAIT);
      }
      Run selfConsistent = verify();
      assertEquals(
          0, selfConsistent.exit(), "a recomputation alone cannot tell: " + selfConsistent.json());
      Run rewritten = verify(anchored());
      assertEquals(1, rewritten.exit(), String.valueOf(rewritten.json()));
      assertTrue(
          rewritten.json().get("problem").asText().contains("history rewritten"),
          rewritten.json().toString());
      assertEquals(
          AuditAnchorWorker.Outcome.REFUSED_BEHIND,
          anchorWorker.anchorOnce().await().atMost(WAIT).outcome());
    }
  }

  private void rewriteFrom(long from) {
    AuditForger.rewriteFrom(pool, from, WAIT);
  }
}
