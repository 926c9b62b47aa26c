package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.cli.TeeKmsCli;
import org.teekms.governance.ChainClient;
import org.teekms.governance.KmsRegistry;
import org.teekms.keys.AppId;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.grpc.GrpcErrors;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.metrics.RotationDueMetrics;
import org.teekms.kms.operator.RotationControl;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.GetEffectivePolicyRequest;
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
 * {@code teekms rotate root} end to end: the CLI over RA-TLS to the real server, on real
 * PostgreSQL, authorized against the KmsRegistry owner on a real local chain (anvil), the job run
 * by the server's scheduler.
 */
@QuarkusTest
@TestProfile(RotationProfile.class)
@QuarkusTestResource(value = AnvilRegistryResource.class, restrictToAnnotatedClass = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RotationRaTlsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static SimulatedTdx tdx;

  @Inject org.teekms.kms.db.StateSessions sessions;
  @Inject RootGenerationStore roots;
  @Inject AuditLog audit;

  @BeforeAll
  static void platform() {
    tdx =
        SimulatedTdx.enableSeeded(
            "RotationRaTlsTest client side",
            Clock.systemUTC(),
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
    String[] common = {
      "--kms",
      "127.0.0.1:" + RotationProfile.PORT,
      "--root-ca",
      root,
      "--collateral",
      collateral,
      "--poll",
      "1",
      "--max-wait",
      "60"
    };
    String[] all = Arrays.copyOf(args, args.length + common.length);
    System.arraycopy(common, 0, all, args.length, common.length);
    int exit = c.execute(all);
    return new Run(
        exit, out.toString().isBlank() ? null : JSON.readTree(out.toString()), err.toString());
  }

  private static ManagedChannel channel() throws Exception {
    RaTlsTrustManager trust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
                .quotePolicy(QuotePolicy.builder().build())
                .clock(Clock.systemUTC())
                .build());
    return NettyChannelBuilder.forAddress("127.0.0.1", RotationProfile.PORT)
        .overrideAuthority("kms.teekms.invalid")
        .sslContext(
            GrpcSslContexts.configure(
                    SslContextBuilder.forClient()
                        .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                    SslProvider.JDK)
                .build())
        .build();
  }

  private static OperatorRequest signed(
      KmsInfo info, long timestamp, byte[] nonce, Credentials key) {
    OperatorRequest r =
        OperatorRequest.newBuilder()
            .setAction(OperatorRequestMessage.ROTATE_ROOT)
            .setKmsId(info.getKmsId())
            .setChainId(info.getChainId())
            .setRegistry("0x" + HexFormat.of().formatHex(info.getRegistryAddress().toByteArray()))
            .setTimestampMillis(timestamp)
            .setNonce(ByteString.copyFrom(nonce))
            .build();
    Sign.SignatureData s =
        Sign.signPrefixedMessage(OperatorRequestMessage.bytes(r), key.getEcKeyPair());
    byte[] rsv = new byte[65];
    System.arraycopy(s.getR(), 0, rsv, 0, 32);
    System.arraycopy(s.getS(), 0, rsv, 32, 32);
    rsv[64] = s.getV()[0];
    return r.toBuilder().setSignature(ByteString.copyFrom(rsv)).build();
  }

  private static StatusRuntimeException denied(
      RotationGrpc.RotationBlockingStub stub, OperatorRequest r) {
    return assertThrows(StatusRuntimeException.class, () -> stub.requestRootRotation(r));
  }

  private static String reasonOf(StatusRuntimeException e) {
    return e.getTrailers().get(GrpcErrors.DENY_REASON);
  }

  private List<AuditEntry> operatorEntries() {
    return audit
        .list(null, 0, Long.MAX_VALUE, 0, 1000)
        .await()
        .atMost(Duration.ofSeconds(10))
        .stream()
        .filter(e -> e.kind().equals(RotationControl.AUDIT_KIND))
        .toList();
  }

  /**
   * First (before the root rotation): the registry takes generation 1's identity only as the next
   * generation.
   */
  @Test
  @Order(0)
  void bootstrapPublishVerifiesThenPublishesTheIdentityWithTheOperatorKey() throws Exception {
    Path dir = Files.createTempDirectory("teekms-publish");
    String root = Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem()).toString();
    String collateral = tdx.collateral().writeTo(dir.resolve("collateral")).toString();
    var config = ConfigProvider.getConfig();
    String rpc = config.getValue("teekms.chain.rpc-url", String.class);
    String chainId = config.getValue("teekms.chain.chain-id", String.class);
    String registry = config.getValue("teekms.chain.registry-address", String.class);
    java.util.function.Function<String, Run> bootstrap =
        key -> {
          try {
            StringWriter out = new StringWriter();
            picocli.CommandLine c = TeeKmsCli.newCommandLine();
            c.setOut(new PrintWriter(out));
            c.setErr(new PrintWriter(new StringWriter()));
            int exit =
                c.execute(
                    "kms",
                    "bootstrap",
                    "--kms",
                    "127.0.0.1:" + RotationProfile.PORT,
                    "--root-ca",
                    root,
                    "--collateral",
                    collateral,
                    "--out",
                    dir.resolve("identity").toString(),
                    "--publish",
                    "--rpc-url",
                    rpc,
                    "--chain-id",
                    chainId,
                    "--registry",
                    registry,
                    "--operator-key-file",
                    keys().resolve(key).toString());
            return new Run(
                exit, out.toString().isBlank() ? null : JSON.readTree(out.toString()), "");
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
    try (org.teekms.governance.ChainClient chain =
        org.teekms.governance.ChainClient.connect(rpc, Long.parseLong(chainId))) {
      var onChain =
          org.teekms.governance.KmsRegistry.at(chain, registry, null).publishedIdentity(1);
      assertTrue(
          Arrays.equals(
              Files.readAllBytes(dir.resolve("identity/ca-cert.der")),
              onChain.caCertificate().toByteArray()));
      assertTrue(
          Arrays.equals(
              Files.readAllBytes(dir.resolve("identity/root-keys.bin")),
              onChain.rootPublicKeys().toByteArray()));
      assertTrue(
          Arrays.equals(
              Files.readAllBytes(dir.resolve("identity/quote.bin")),
              onChain.quote().toByteArray()));
    }
    Run again = bootstrap.apply("owner.key");
    assertEquals(0, again.exit(), String.valueOf(again.json()));
    assertTrue(
        again.json().get("published").get("alreadyPublished").asBoolean(), "re-running is safe");

    picocli.CommandLine usage = TeeKmsCli.newCommandLine();
    usage.setOut(new PrintWriter(new StringWriter()));
    usage.setErr(new PrintWriter(new StringWriter()));
    assertEquals(
        2,
        usage.execute(
            "kms",
            "bootstrap",
            "--kms",
            "127.0.0.1:" + RotationProfile.PORT,
            "--collateral",
            collateral,
            "--publish",
            "--rpc-url",
            rpc),
        "--publish without its chain options is a usage error");
  }

  @Test
  @Order(1)
  void ownerRotatesTheRootOthersAndReplaysAreDeniedAndEverythingIsAudited() throws Exception {
    // Three apps with key state on generation 1 (as admissions would have left them).
    int gen1 = roots.current().await().atMost(Duration.ofSeconds(10)).orElseThrow().generation();
    long now = System.currentTimeMillis();
    for (int i = 1; i <= 3; i++) {
      byte[] app = new byte[20];
      app[19] = (byte) i;
      sessions
          .inTransaction(
              tx -> AppKeyStateStore.advance(tx, org.teekms.keys.AppId.of(app), 1, 1, gen1, now))
          .await()
          .atMost(Duration.ofSeconds(10));
    }

    // A stranger's signature: denied, nothing enqueued, audited.
    Run stranger = cli("rotate", "root", "--key-file", keys().resolve("stranger.key").toString());
    assertEquals(1, stranger.exit(), stranger.toString());
    assertEquals("DENIED", stranger.json().get("failure").asText());
    assertEquals("NOT_OWNER", stranger.json().get("denyCode").asText());
    assertTrue(
        stranger.json().get("error").asText().contains("is not the registry owner"),
        stranger.toString());

    // The owner's: the job runs to the end of the app move; the new generation is current, the old
    // one retained.
    Run owner = cli("rotate", "root", "--key-file", keys().resolve("owner.key").toString());
    assertEquals(0, owner.exit(), owner.toString());
    JsonNode job = owner.json().get("job");
    assertEquals("APPS_MOVED", job.get("state").asText());
    assertEquals(gen1, job.get("fromGeneration").asInt());
    int gen2 = job.get("targetGeneration").asInt();
    assertEquals(gen1 + 1, gen2);
    assertEquals(3, job.get("appsTotal").asInt());
    assertEquals(3, job.get("appsMoved").asInt());
    assertTrue(
        owner.progress().contains("PENDING") || owner.progress().contains("GENERATED"),
        owner.progress());
    assertTrue(owner.progress().contains("APPS_MOVED"), owner.progress());
    Map<Integer, RootState> states =
        roots.list().await().atMost(Duration.ofSeconds(10)).stream()
            .collect(Collectors.toMap(RootGeneration::generation, RootGeneration::state));
    assertEquals(RootState.CURRENT, states.get(gen2));
    assertEquals(RootState.RETIRED, states.get(gen1), "retained for the grace period");
    roots
        .unseal(gen1)
        .await()
        .atMost(Duration.ofSeconds(10)); // still unsealable: pinned versions keep deriving
    for (int i = 1; i <= 3; i++) {
      byte[] app = new byte[20];
      app[19] = (byte) i;
      assertEquals(
          2,
          AppKeyStateStore.read(sessions, org.teekms.keys.AppId.of(app))
              .await()
              .atMost(Duration.ofSeconds(10))
              .orElseThrow()
              .currentVersion());
    }

    Run status = cli("rotate", "status", "--job", job.get("jobId").asText(), "--no-wait");
    assertEquals(0, status.exit(), status.toString());
    assertEquals("APPS_MOVED", status.json().get("job").get("state").asText());
    Run missing =
        cli("rotate", "status", "--job", "00000000-0000-0000-0000-000000000000", "--no-wait");
    assertEquals(1, missing.exit(), missing.toString());
    assertEquals("NOT_FOUND", missing.json().get("failure").asText());
    assertEquals(2, cli("rotate", "status", "--job", "not-a-uuid").exit());

    // SYNC_APP: the registered app is brought to the chain's versions (current 3, minimum 2) on the
    // new generation.
    String appHex = ConfigProvider.getConfig().getValue("rotation-it.app-id", String.class);
    Run sync =
        cli("rotate", "app", "--app", appHex, "--key-file", keys().resolve("owner.key").toString());
    assertEquals(0, sync.exit(), sync.toString());
    JsonNode appJob = sync.json().get("job");
    assertEquals("APP_ROTATION", appJob.get("kind").asText());
    assertEquals("DONE", appJob.get("state").asText());
    assertEquals(3, appJob.get("targetVersion").asInt());
    assertEquals(2, appJob.get("targetMinVersion").asInt());
    assertEquals(1, appJob.get("appsMoved").asInt());
    byte[] appId = HexFormat.of().parseHex(appHex.substring(2));
    var appState =
        AppKeyStateStore.read(sessions, org.teekms.keys.AppId.of(appId))
            .await()
            .atMost(Duration.ofSeconds(10))
            .orElseThrow();
    assertEquals(3, appState.currentVersion());
    assertEquals(2, appState.minVersion());
    Run unknown =
        cli(
            "rotate",
            "app",
            "--app",
            "0x" + "ab".repeat(20),
            "--key-file",
            keys().resolve("owner.key").toString());
    assertEquals(1, unknown.exit(), unknown.toString());
    assertEquals("APP_NOT_REGISTERED", unknown.json().get("denyCode").asText());
    Run usage =
        cli(
            "rotate",
            "app",
            "--app",
            "0x1234",
            "--key-file",
            keys().resolve("owner.key").toString());
    assertEquals(2, usage.exit(), "a malformed app id is a usage error");

    // Raw requests: stale, wrong domain, malformed signature, then one accepted and its replay.
    Credentials ownerKey = Credentials.create(Files.readString(keys().resolve("owner.key")));
    ManagedChannel ch = channel();
    try {
      KmsInfo info =
          KmsInfoServiceGrpc.newBlockingStub(ch).getKmsInfo(GetKmsInfoRequest.getDefaultInstance());
      RotationGrpc.RotationBlockingStub stub =
          RotationGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
      byte[] nonce = new byte[32];
      new java.security.SecureRandom().nextBytes(nonce);

      StatusRuntimeException stale =
          denied(stub, signed(info, System.currentTimeMillis() - 3_600_000, nonce, ownerKey));
      assertEquals(Status.Code.PERMISSION_DENIED, stale.getStatus().getCode());
      assertEquals("STALE", reasonOf(stale));

      KmsInfo otherKms = info.toBuilder().setKmsId("another-kms").build();
      assertEquals(
          "WRONG_DOMAIN",
          reasonOf(denied(stub, signed(otherKms, System.currentTimeMillis(), nonce, ownerKey))));

      OperatorRequest good = signed(info, System.currentTimeMillis(), nonce, ownerKey);
      OperatorRequest tampered =
          good.toBuilder().setTimestampMillis(good.getTimestampMillis() + 1).build();
      StatusRuntimeException notOwner = denied(stub, tampered);
      assertEquals("NOT_OWNER", reasonOf(notOwner), "a changed field recovers another signer");
      assertEquals(
          "BAD_SIGNATURE",
          reasonOf(
              denied(
                  stub,
                  good.toBuilder().setSignature(good.getSignature().substring(0, 64)).build())));

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
    List<String> outcomes =
        entries.stream()
            .map(
                e ->
                    e.outcome().name()
                        + ":"
                        + (e.reason().isEmpty()
                            ? ""
                            : e.reason().substring(0, e.reason().indexOf(':'))))
            .toList();
    assertEquals(
        List.of(
            "DENIED:NOT_OWNER",
            "ALLOWED:",
            "ALLOWED:",
            "DENIED:APP_NOT_REGISTERED",
            "DENIED:STALE",
            "DENIED:WRONG_DOMAIN",
            "DENIED:NOT_OWNER",
            "DENIED:BAD_SIGNATURE",
            "ALLOWED:",
            "DENIED:REPLAYED"),
        outcomes);
    assertTrue(
        entries.get(1).detailJson().contains(ownerKey.getAddress()), entries.get(1).detailJson());
    assertTrue(audit.verify().await().atMost(Duration.ofSeconds(30)).valid());
  }

  /**
   * Signatures of {@code digest} itself (no prefix) by these signers, ascending by address,
   * concatenated.
   */
  private static String multisigSignature(byte[] digest, List<Credentials> signers) {
    StringBuilder hex = new StringBuilder();
    signers.stream()
        .sorted(java.util.Comparator.comparing(Credentials::getAddress))
        .forEach(
            c -> {
              Sign.SignatureData sd = Sign.signMessage(digest, c.getEcKeyPair(), false);
              hex.append(HexFormat.of().formatHex(sd.getR()))
                  .append(HexFormat.of().formatHex(sd.getS()))
                  .append(HexFormat.of().formatHex(sd.getV()));
            });
    return hex.toString();
  }

  private static Credentials key(String file) throws Exception {
    return Credentials.create(Files.readString(keys().resolve(file)).trim());
  }

  @Test
  @Order(2)
  void multisigOwnedRegistryAuthorizesRequestsItsSignersApprovedThroughEip1271() throws Exception {
    org.eclipse.microprofile.config.Config config = ConfigProvider.getConfig();
    String registry = config.getValue("teekms.chain.registry-address", String.class);
    String wallet =
        config.getValue("rotation-it.multisig", String.class).toLowerCase(java.util.Locale.ROOT);
    String appHex = config.getValue("rotation-it.app-id", String.class);
    List<Credentials> signers =
        List.of(key("signer-0.key"), key("signer-1.key"), key("signer-2.key"));
    Credentials ownerKey = key("owner.key");
    try (ChainClient chain =
        ChainClient.connect(config.getValue("teekms.chain.rpc-url", String.class), 31337)) {
      KmsRegistry.at(chain, registry, ownerKey).transferOwnership(wallet);
      String accept = org.teekms.governance.contracts.KmsRegistryContract.getABI_acceptOwnership();
      chain.send(
          signers.get(0),
          wallet,
          org.teekms.governance.testing.TestMultisigs.submit(registry, accept, 1));
      chain.send(
          signers.get(1),
          wallet,
          org.teekms.governance.testing.TestMultisigs.submit(registry, accept, 1));
      assertEquals(
          wallet,
          KmsRegistry.at(chain, registry, ownerKey).owner().toLowerCase(java.util.Locale.ROOT));
    }
    // The KMS re-reads the registry owner for a request the last-read owner cannot have signed at
    // most once per
    // teekms.limits.operator-owner-recheck (1 s): right after a transfer, the new owner may be told
    // NOT_OWNER with a
    // "retry in" hint (OperatorAuthorizerTest covers that); wait the window out, as an operator
    // would.
    Thread.sleep(1_100);
    Path dir = Files.createTempDirectory("teekms-eip1271");

    // Step 1: the request and the digest the wallet's signers must approve; nothing is sent.
    Run printed = cli("rotate", "app", "--app", appHex, "--print-digest");
    assertEquals(0, printed.exit(), printed.toString());
    JsonNode request = printed.json().get("request");
    assertEquals("SYNC_APP", request.get("action").asText());
    assertEquals(appHex.toLowerCase(java.util.Locale.ROOT), request.get("appId").asText());
    byte[] digest = HexFormat.of().parseHex(printed.json().get("digest").asText().substring(2));
    assertArrayEquals(
        Sign.getEthereumMessageHash(
            printed
                .json()
                .get("message")
                .asText()
                .getBytes(java.nio.charset.StandardCharsets.UTF_8)),
        digest,
        "the digest is the EIP-191 hash of the message");
    Path requestFile = Files.writeString(dir.resolve("request.json"), printed.json().toString());

    // One approval of a 2-of-3 wallet: isValidSignature answers 0xffffffff, the KMS denies.
    Path one =
        Files.writeString(dir.resolve("one.sig"), multisigSignature(digest, signers.subList(0, 1)));
    Run single =
        cli(
            "rotate",
            "app",
            "--app",
            appHex,
            "--request",
            requestFile.toString(),
            "--signature-file",
            one.toString());
    assertEquals(1, single.exit(), single.toString());
    assertEquals("CONTRACT_REJECTED", single.json().get("denyCode").asText());
    assertTrue(single.json().get("error").asText().contains("0xffffffff"), single.toString());
    // Not a multiple of 65 bytes: the wallet reverts, and its reason reaches the operator.
    Path cut =
        Files.writeString(
            dir.resolve("cut.sig"), multisigSignature(digest, signers.subList(0, 2)).substring(2));
    Run reverted =
        cli(
            "rotate",
            "app",
            "--app",
            appHex,
            "--request",
            requestFile.toString(),
            "--signature-file",
            cut.toString());
    assertEquals(
        "CONTRACT_REJECTED", reverted.json().get("denyCode").asText(), reverted.toString());
    assertTrue(
        reverted.json().get("error").asText().contains("signature length not a multiple of 65"),
        reverted.toString());
    // Two approvals of ANOTHER request (other nonce) are worthless for this one.
    Run other = cli("rotate", "app", "--app", appHex, "--print-digest");
    byte[] otherDigest = HexFormat.of().parseHex(other.json().get("digest").asText().substring(2));
    Path wrong =
        Files.writeString(
            dir.resolve("wrong.sig"), multisigSignature(otherDigest, signers.subList(1, 3)));
    assertEquals(
        "CONTRACT_REJECTED",
        cli(
                "rotate",
                "app",
                "--app",
                appHex,
                "--request",
                requestFile.toString(),
                "--signature-file",
                wrong.toString())
            .json()
            .get("denyCode")
            .asText());
    // The former EOA owner's own EIP-191 signature is no longer enough: the owner is the wallet
    // now.
    Run former =
        cli("rotate", "app", "--app", appHex, "--key-file", keys().resolve("owner.key").toString());
    assertEquals("CONTRACT_REJECTED", former.json().get("denyCode").asText(), former.toString());

    // Two approvals: authorized at the owner's pinned block; the job is done and names the wallet.
    Path two =
        Files.writeString(dir.resolve("two.sig"), multisigSignature(digest, signers.subList(1, 3)));
    Run approved =
        cli(
            "rotate",
            "app",
            "--app",
            appHex,
            "--request",
            requestFile.toString(),
            "--signature-file",
            two.toString());
    assertEquals(0, approved.exit(), approved.toString());
    assertEquals("DONE", approved.json().get("job").get("state").asText());
    assertEquals(
        wallet,
        approved.json().get("job").get("approvedBy").asText().toLowerCase(java.util.Locale.ROOT));
    // The same approved request again: its nonce is spent.
    Run replay =
        cli(
            "rotate",
            "app",
            "--app",
            appHex,
            "--request",
            requestFile.toString(),
            "--signature-file",
            two.toString());
    assertEquals("REPLAYED", replay.json().get("denyCode").asText(), replay.toString());
    // A request file for another action is a usage error, before anything is sent.
    assertEquals(
        2,
        cli(
                "rotate",
                "root",
                "--request",
                requestFile.toString(),
                "--signature-file",
                two.toString())
            .exit());
    assertEquals(
        2,
        cli("rotate", "app", "--app", appHex, "--print-digest", "--signature-file", two.toString())
            .exit());

    List<AuditEntry> entries = operatorEntries();
    AuditEntry allowed =
        entries.stream()
            .filter(e -> e.outcome().name().equals("ALLOWED"))
            .reduce((a, b) -> b)
            .orElseThrow();
    assertTrue(
        allowed.detailJson().contains("\"signatureScheme\":\"EIP1271\"")
            && allowed.detailJson().contains(wallet),
        allowed.detailJson());
    assertTrue(audit.verify().await().atMost(Duration.ofSeconds(30)).valid());
  }

  @Inject RotationDueMetrics dueMetrics;
  @Inject io.micrometer.core.instrument.MeterRegistry meters;

  @Test
  @Order(3)
  void effectivePolicyAndMetricsReportTheOnChainRotationSchedule() throws Exception {
    String dueHex =
        ConfigProvider.getConfig()
            .getValue("rotation-it.due-app-id", String.class)
            .toLowerCase(java.util.Locale.ROOT);
    String appHex =
        ConfigProvider.getConfig()
            .getValue("rotation-it.app-id", String.class)
            .toLowerCase(java.util.Locale.ROOT);
    byte[] due = HexFormat.of().parseHex(dueHex.substring(2));
    byte[] notDue = HexFormat.of().parseHex(appHex.substring(2));
    ManagedChannel ch = channel();
    try {
      AuditorGrpc.AuditorBlockingStub auditor =
          AuditorGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
      org.teekms.proto.RotationSchedule s =
          auditor
              .getEffectivePolicy(
                  GetEffectivePolicyRequest.newBuilder().setAppId(ByteString.copyFrom(due)).build())
              .getRotationSchedule();
      assertEquals("", s.getError());
      assertTrue(s.getRotationDue(), "period 3600 s set, chain time advanced 3601 s");
      assertEquals(3600, s.getRotationPeriodSeconds());
      assertTrue(s.getLastRotation() > 0);
      assertEquals(31337, s.getBlock().getChainId());
      assertEquals(32, s.getBlock().getHash().size());
      org.teekms.proto.RotationSchedule n =
          auditor
              .getEffectivePolicy(
                  GetEffectivePolicyRequest.newBuilder()
                      .setAppId(ByteString.copyFrom(notDue))
                      .build())
              .getRotationSchedule();
      assertEquals("", n.getError());
      assertEquals(false, n.getRotationDue());
      assertEquals(0, n.getRotationPeriodSeconds());
      // An address without an AppPolicy: the schedule is reported unreadable, never "not due".
      byte[] none = new byte[20];
      none[0] = 0x7e;
      org.teekms.proto.RotationSchedule unknown =
          auditor
              .getEffectivePolicy(
                  GetEffectivePolicyRequest.newBuilder()
                      .setAppId(ByteString.copyFrom(none))
                      .build())
              .getRotationSchedule();
      assertTrue(
          unknown.getError().contains("reading the rotation schedule of app"), unknown.getError());
      assertEquals(false, unknown.hasBlock());
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    assertEquals(1.0, dueMetrics.value(AppId.of(due)));
    assertEquals(0.0, dueMetrics.value(AppId.of(notDue)));
    assertEquals(1.0, meters.find("teekms.app.rotation.due").tag("app", dueHex).gauge().value());
    assertEquals(0.0, meters.find("teekms.app.rotation.due").tag("app", appHex).gauge().value());
    assertEquals(1.0, meters.find("teekms.apps.rotation.due").gauge().value());
    // The periodic refresh reads every app with key state: the registered one, and three addresses
    // that are no
    // AppPolicy (key state written directly by the first test), whose gauges are NaN.
    assertEquals(1, dueMetrics.refresh().await().indefinitely());
    byte[] fake = new byte[20];
    fake[19] = 1;
    assertTrue(Double.isNaN(dueMetrics.value(AppId.of(fake))));
    assertEquals(0.0, dueMetrics.value(AppId.of(notDue)));
  }
}
