package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
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
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.grpc.GrpcErrors;
import org.teekms.kms.keystate.AppKeyVersions;
import org.teekms.kms.operator.RotationControl;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;
import org.teekms.proto.RotationGrpc;
import org.teekms.proto.RotationJobStatus;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.Sign;

/**
 * {@code teekms rotate root} end to end: the CLI over RA-TLS to the real server, on real PostgreSQL, authorized
 * against the KmsRegistry owner on a real local chain (anvil), the job run by the server's scheduler.
 */
@QuarkusTest
@TestProfile(RotationProfile.class)
@QuarkusTestResource(value = AnvilRegistryResource.class, restrictToAnnotatedClass = true)
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class RotationRaTlsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static SimulatedTdx tdx;

  @Inject Pool pool;
  @Inject RootGenerationStore roots;
  @Inject AuditLog audit;

  @BeforeAll
  static void platform() {
    tdx = SimulatedTdx.enableSeeded("RotationRaTlsTest client side", Clock.systemUTC(),
        HexFormat.of().parseHex(RaTlsProfile.SEED));
  }

  private static Path keys() {
    return Path.of(ConfigProvider.getConfig().getValue("rotation-it.keys-dir", String.class));
  }

  private record Run(int exit, JsonNode json, String progress) {}

  private Run cli(String... args) throws Exception {
    Path dir = Files.createTempDirectory("teekms-rotate");
    String root = Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem()).toString();
    String collateral = tdx.collateral().writeTo(dir.resolve("collateral")).toString();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    picocli.CommandLine c = TeeKmsCli.newCommandLine();
    c.setOut(new PrintWriter(out));
    c.setErr(new PrintWriter(err));
    String[] common = {"--kms", "127.0.0.1:" + RotationProfile.PORT, "--root-ca", root, "--collateral", collateral,
        "--poll", "1", "--max-wait", "60"};
    String[] all = Arrays.copyOf(args, args.length + common.length);
    System.arraycopy(common, 0, all, args.length, common.length);
    int exit = c.execute(all);
    return new Run(exit, out.toString().isBlank() ? null : JSON.readTree(out.toString()), err.toString());
  }

  private static ManagedChannel channel() throws Exception {
    RaTlsTrustManager trust = new RaTlsTrustManager(RaTlsVerifier.builder(new DcapQuoteVerifier(tdx.rootCertificate()),
        tdx.collateralSource()).quotePolicy(QuotePolicy.builder().build()).clock(Clock.systemUTC()).build());
    return NettyChannelBuilder.forAddress("127.0.0.1", RotationProfile.PORT).overrideAuthority("kms.teekms.invalid")
        .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient()
            .trustManager(RaTlsContexts.trustManagerFactory(trust)), SslProvider.JDK).build()).build();
  }

  private static OperatorRequest signed(KmsInfo info, long timestamp, byte[] nonce, Credentials key) {
    OperatorRequest r = OperatorRequest.newBuilder().setAction(OperatorRequestMessage.ROTATE_ROOT)
        .setKmsId(info.getKmsId()).setChainId(info.getChainId())
        .setRegistry("0x" + HexFormat.of().formatHex(info.getRegistryAddress().toByteArray()))
        .setTimestampMillis(timestamp).setNonce(ByteString.copyFrom(nonce)).build();
    Sign.SignatureData s = Sign.signPrefixedMessage(OperatorRequestMessage.bytes(r), key.getEcKeyPair());
    byte[] rsv = new byte[65];
    System.arraycopy(s.getR(), 0, rsv, 0, 32);
    System.arraycopy(s.getS(), 0, rsv, 32, 32);
    rsv[64] = s.getV()[0];
    return r.toBuilder().setSignature(ByteString.copyFrom(rsv)).build();
  }

  private static StatusRuntimeException denied(RotationGrpc.RotationBlockingStub stub, OperatorRequest r) {
    return assertThrows(StatusRuntimeException.class, () -> stub.requestRootRotation(r));
  }

  private static String reasonOf(StatusRuntimeException e) {
    return e.getTrailers().get(GrpcErrors.DENY_REASON);
  }

  private List<AuditEntry> operatorEntries() {
    return audit.list(null, 0, Long.MAX_VALUE, 0, 1000).await().atMost(Duration.ofSeconds(10)).stream()
        .filter(e -> e.kind().equals(RotationControl.AUDIT_KIND)).toList();
  }

  /** First (before the root rotation): the registry takes generation 1's identity only as the next generation. */
  @Test
  @org.junit.jupiter.api.Order(1)
  void bootstrapPublishVerifiesThenPublishesTheIdentityWithTheOperatorKey() throws Exception {
    Path dir = Files.createTempDirectory("teekms-publish");
    String root = Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem()).toString();
    String collateral = tdx.collateral().writeTo(dir.resolve("collateral")).toString();
    var config = ConfigProvider.getConfig();
    String rpc = config.getValue("teekms.chain.rpc-url", String.class);
    String chainId = config.getValue("teekms.chain.chain-id", String.class);
    String registry = config.getValue("teekms.chain.registry-address", String.class);
    java.util.function.Function<String, Run> bootstrap = key -> {
      try {
        StringWriter out = new StringWriter();
        picocli.CommandLine c = TeeKmsCli.newCommandLine();
        c.setOut(new PrintWriter(out));
        c.setErr(new PrintWriter(new StringWriter()));
        int exit = c.execute("kms", "bootstrap", "--kms", "127.0.0.1:" + RotationProfile.PORT, "--root-ca", root,
            "--collateral", collateral, "--out", dir.resolve("identity").toString(), "--publish", "--rpc-url", rpc,
            "--chain-id", chainId, "--registry", registry, "--operator-key-file", keys().resolve(key).toString());
        return new Run(exit, out.toString().isBlank() ? null : JSON.readTree(out.toString()), "");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    Run stranger = bootstrap.apply("stranger.key");
    assertEquals(1, stranger.exit(), String.valueOf(stranger.json()));
    assertEquals("PUBLISH_FAILED", stranger.json().get("failure").asText());

    Run owner = bootstrap.apply("owner.key");
    assertEquals(0, owner.exit(), String.valueOf(owner.json()));
    JsonNode published = owner.json().get("published");
    assertEquals(1, published.get("generation").asLong());
    assertTrue(published.get("txHash").asText().startsWith("0x"));
    assertEquals(false, published.get("alreadyPublished").asBoolean());
    try (org.teekms.governance.ChainClient chain = org.teekms.governance.ChainClient.connect(rpc, Long.parseLong(chainId))) {
      var onChain = org.teekms.governance.KmsRegistry.at(chain, registry, null).publishedIdentity(1);
      assertTrue(Arrays.equals(Files.readAllBytes(dir.resolve("identity/ca-cert.der")), onChain.caCertificate()));
      assertTrue(Arrays.equals(Files.readAllBytes(dir.resolve("identity/root-keys.bin")), onChain.rootPublicKeys()));
      assertTrue(Arrays.equals(Files.readAllBytes(dir.resolve("identity/quote.bin")), onChain.quote()));
    }
    Run again = bootstrap.apply("owner.key");
    assertEquals(0, again.exit(), String.valueOf(again.json()));
    assertTrue(again.json().get("published").get("alreadyPublished").asBoolean(), "re-running is safe");

    picocli.CommandLine usage = TeeKmsCli.newCommandLine();
    usage.setOut(new PrintWriter(new StringWriter()));
    usage.setErr(new PrintWriter(new StringWriter()));
    assertEquals(2, usage.execute("kms", "bootstrap", "--kms", "127.0.0.1:" + RotationProfile.PORT, "--collateral",
        collateral, "--publish", "--rpc-url", rpc), "--publish without its chain options is a usage error");
  }

  @Test
  void ownerRotatesTheRootOthersAndReplaysAreDeniedAndEverythingIsAudited() throws Exception {
    // Three apps with key state on generation 1 (as admissions would have left them).
    int gen1 = roots.current(pool).await().atMost(Duration.ofSeconds(10)).orElseThrow().generation();
    long now = System.currentTimeMillis();
    for (int i = 1; i <= 3; i++) {
      byte[] app = new byte[20];
      app[19] = (byte) i;
      pool.withTransaction(tx -> AppKeyVersions.advance(tx, app, 1, 1, gen1, now)).await().atMost(Duration.ofSeconds(10));
    }

    // A stranger's signature: denied, nothing enqueued, audited.
    Run stranger = cli("rotate", "root", "--key-file", keys().resolve("stranger.key").toString());
    assertEquals(1, stranger.exit(), stranger.toString());
    assertEquals("DENIED", stranger.json().get("failure").asText());
    assertEquals("NOT_OWNER", stranger.json().get("denyCode").asText());
    assertTrue(stranger.json().get("error").asText().contains("is not the registry owner"), stranger.toString());

    // The owner's: the job runs to the end of the app move; the new generation is current, the old one retained.
    Run owner = cli("rotate", "root", "--key-file", keys().resolve("owner.key").toString());
    assertEquals(0, owner.exit(), owner.toString());
    JsonNode job = owner.json().get("job");
    assertEquals("APPS_MOVED", job.get("state").asText());
    assertEquals(gen1, job.get("fromGeneration").asInt());
    int gen2 = job.get("targetGeneration").asInt();
    assertEquals(gen1 + 1, gen2);
    assertEquals(3, job.get("appsTotal").asInt());
    assertEquals(3, job.get("appsMoved").asInt());
    assertTrue(owner.progress().contains("PENDING") || owner.progress().contains("GENERATED"), owner.progress());
    assertTrue(owner.progress().contains("APPS_MOVED"), owner.progress());
    Map<Integer, RootState> states = roots.list(pool).await().atMost(Duration.ofSeconds(10)).stream()
        .collect(Collectors.toMap(RootGeneration::generation, RootGeneration::state));
    assertEquals(RootState.CURRENT, states.get(gen2));
    assertEquals(RootState.RETIRED, states.get(gen1), "retained for the grace period");
    roots.unseal(gen1).await().atMost(Duration.ofSeconds(10)); // still unsealable: pinned versions keep deriving
    for (int i = 1; i <= 3; i++) {
      byte[] app = new byte[20];
      app[19] = (byte) i;
      assertEquals(2, AppKeyVersions.read(pool, app).await().atMost(Duration.ofSeconds(10)).orElseThrow().currentVersion());
    }

    Run status = cli("rotate", "status", "--job", job.get("jobId").asText(), "--no-wait");
    assertEquals(0, status.exit(), status.toString());
    assertEquals("APPS_MOVED", status.json().get("job").get("state").asText());
    Run missing = cli("rotate", "status", "--job", "00000000-0000-0000-0000-000000000000", "--no-wait");
    assertEquals(1, missing.exit(), missing.toString());
    assertEquals("NOT_FOUND", missing.json().get("failure").asText());
    assertEquals(2, cli("rotate", "status", "--job", "not-a-uuid").exit());

    // SYNC_APP: the registered app is brought to the chain's versions (current 3, minimum 2) on the new generation.
    String appHex = ConfigProvider.getConfig().getValue("rotation-it.app-id", String.class);
    Run sync = cli("rotate", "app", "--app", appHex, "--key-file", keys().resolve("owner.key").toString());
    assertEquals(0, sync.exit(), sync.toString());
    JsonNode appJob = sync.json().get("job");
    assertEquals("APP_ROTATION", appJob.get("kind").asText());
    assertEquals("DONE", appJob.get("state").asText());
    assertEquals(3, appJob.get("targetVersion").asInt());
    assertEquals(2, appJob.get("targetMinVersion").asInt());
    assertEquals(1, appJob.get("appsMoved").asInt());
    byte[] appId = HexFormat.of().parseHex(appHex.substring(2));
    var appState = AppKeyVersions.read(pool, appId).await().atMost(Duration.ofSeconds(10)).orElseThrow();
    assertEquals(3, appState.currentVersion());
    assertEquals(2, appState.minVersion());
    Run unknown = cli("rotate", "app", "--app", "0x" + "ab".repeat(20), "--key-file",
        keys().resolve("owner.key").toString());
    assertEquals(1, unknown.exit(), unknown.toString());
    assertEquals("APP_NOT_REGISTERED", unknown.json().get("denyCode").asText());
    Run usage = cli("rotate", "app", "--app", "0x1234", "--key-file", keys().resolve("owner.key").toString());
    assertEquals(2, usage.exit(), "a malformed app id is a usage error");

    // Raw requests: stale, wrong domain, malformed signature, then one accepted and its replay.
    Credentials ownerKey = Credentials.create(Files.readString(keys().resolve("owner.key")));
    ManagedChannel ch = channel();
    try {
      KmsInfo info = KmsInfoServiceGrpc.newBlockingStub(ch).getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
      RotationGrpc.RotationBlockingStub stub = RotationGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
      byte[] nonce = new byte[32];
      new java.security.SecureRandom().nextBytes(nonce);

      StatusRuntimeException stale = denied(stub, signed(info, System.currentTimeMillis() - 3_600_000, nonce, ownerKey));
      assertEquals(Status.Code.PERMISSION_DENIED, stale.getStatus().getCode());
      assertEquals("STALE", reasonOf(stale));

      KmsInfo otherKms = info.toBuilder().setKmsId("another-kms").build();
      assertEquals("WRONG_DOMAIN", reasonOf(denied(stub, signed(otherKms, System.currentTimeMillis(), nonce, ownerKey))));

      OperatorRequest good = signed(info, System.currentTimeMillis(), nonce, ownerKey);
      OperatorRequest tampered = good.toBuilder().setTimestampMillis(good.getTimestampMillis() + 1).build();
      StatusRuntimeException notOwner = denied(stub, tampered);
      assertEquals("NOT_OWNER", reasonOf(notOwner), "a changed field recovers another signer");
      assertEquals("BAD_SIGNATURE", reasonOf(denied(stub, good.toBuilder()
          .setSignature(good.getSignature().substring(0, 64)).build())));

      RotationJobStatus accepted = stub.requestRootRotation(good);
      assertEquals("ROOT_ROTATION", accepted.getKind());
      assertEquals(gen2, accepted.getFromGeneration());
      assertEquals(ownerKey.getAddress(), accepted.getSigner());
      StatusRuntimeException replay = denied(stub, good);
      assertEquals("REPLAYED", reasonOf(replay));
      assertNotEquals(null, replay.getStatus().getDescription());
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    // Every request, allowed or denied, is in the audit chain, with its reason.
    List<AuditEntry> entries = operatorEntries();
    List<String> outcomes = entries.stream().map(e -> e.outcome().name() + ":" + (e.reason().isEmpty() ? ""
        : e.reason().substring(0, e.reason().indexOf(':')))).toList();
    assertEquals(List.of("DENIED:NOT_OWNER", "ALLOWED:", "ALLOWED:", "DENIED:APP_NOT_REGISTERED", "DENIED:STALE", "DENIED:WRONG_DOMAIN", "DENIED:NOT_OWNER",
        "DENIED:BAD_SIGNATURE", "ALLOWED:", "DENIED:REPLAYED"), outcomes);
    assertTrue(entries.get(1).detailJson().contains(ownerKey.getAddress()), entries.get(1).detailJson());
    assertTrue(audit.verify().await().atMost(Duration.ofSeconds(30)).valid());
  }
}
