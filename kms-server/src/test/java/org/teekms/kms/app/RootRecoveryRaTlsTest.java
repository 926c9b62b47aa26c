package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.cli.TeeKmsCli;
import org.teekms.custody.BackupStore;
import org.teekms.custody.Commitments;
import org.teekms.custody.CustodianShare;
import org.teekms.custody.EnvelopeContext;
import org.teekms.custody.RecipientKey;
import org.teekms.custody.RecipientKeyPair;
import org.teekms.custody.Share;
import org.teekms.custody.ShareEnvelope;
import org.teekms.custody.ShareSubmission;
import org.teekms.governance.ChainClient;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.RootCustody;
import org.teekms.keys.AppId;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;
import org.teekms.kms.grpc.GrpcErrors;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.GetRecoveryStatusRequest;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.RecoveryGrpc;
import org.teekms.proto.RecoveryStatus;
import org.teekms.proto.SubmitShareRequest;
import org.web3j.crypto.Credentials;

/**
 * Losing every KMS node loses no key (issue 21): a fresh node (simulated TDX, empty database,
 * {@code teekms.custody.recover-generation=1}) on a chain where the lost deployment's generation-1
 * backup is published recovers the root from two of three custodians, who send their shares with
 * {@code teekms custody release --to-node}; attacks are refused on the way; the recovered root
 * derives the key-derivation vectors byte for byte and the node then serves it.
 */
@QuarkusTest
@TestProfile(RecoveryProfile.class)
@QuarkusTestResource(value = CustodyRecoveryResource.class, restrictToAnnotatedClass = true)
class RootRecoveryRaTlsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HexFormat HEX = HexFormat.of();
  private static final String NODE = "127.0.0.1:" + RecoveryProfile.PORT;

  /** The custodians' and the owner's view of the simulated platform (same seed as the KMS). */
  private static SimulatedTdx tdx;

  private static Path rootCa;
  private static Path collateral;

  @Inject RootGenerationStore roots;

  private record Run(int exit, JsonNode json, String err) {}

  private static Run cli(String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    picocli.CommandLine c = TeeKmsCli.newCommandLine();
    c.setOut(new PrintWriter(out));
    c.setErr(new PrintWriter(err));
    int exit = c.execute(args);
    return new Run(
        exit, out.toString().isBlank() ? null : JSON.readTree(out.toString()), err.toString());
  }

  private static String config(String key) {
    return ConfigProvider.getConfig().getValue(key, String.class);
  }

  private static Path keys() {
    return Path.of(config("recovery-it.keys-dir"));
  }

  private static ManagedChannel plainTls() throws Exception {
    return NettyChannelBuilder.forAddress("127.0.0.1", RecoveryProfile.PORT)
        .overrideAuthority("kms.teekms.invalid")
        .sslContext(
            GrpcSslContexts.configure(
                    SslContextBuilder.forClient()
                        .trustManager(InsecureTrustManagerFactory.INSTANCE),
                    SslProvider.JDK)
                .build())
        .build();
  }

  private static RecipientKeyPair custodianKey(int index) throws Exception {
    byte[] raw =
        HEX.parseHex(Files.readString(keys().resolve("custodian-" + index + ".key")).trim());
    try {
      return RecipientKeyPair.fromPrivate(raw, InsecureSecretAccess.get());
    } finally {
      java.util.Arrays.fill(raw, (byte) 0);
    }
  }

  @Test
  void aFreshNodeRecoversTheRootFromThresholdCustodiansAndServesTheSameKeys() throws Exception {
    tdx =
        SimulatedTdx.enableSeeded(
            "RootRecoveryRaTlsTest custodian side",
            Clock.systemUTC(),
            HEX.parseHex(RaTlsProfile.SEED));
    Path dir = Files.createTempDirectory("teekms-recovery-it");
    rootCa = Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem());
    collateral = tdx.collateral().writeTo(dir.resolve("collateral"));
    String rpc = config("teekms.chain.rpc-url");
    String chainId = config("teekms.chain.chain-id");
    String registry = config("teekms.chain.registry-address");
    String custody = config("teekms.custody.contract-address");
    String store = config("teekms.custody.store");

    // 1. The node says what it recovers and which key it holds; not ready meanwhile.
    Path nodePem = dir.resolve("node.pem");
    Run status =
        cli("custody", "recovery-status", "--node", NODE, "--cert-out", nodePem.toString());
    assertEquals(0, status.exit(), status.json() + status.err());
    assertEquals("RECOVERING", status.json().get("state").asText());
    assertEquals(1, status.json().get("generation").asInt());
    X509Certificate cert = Pem.certificates(Files.readAllBytes(nodePem)).get(0);
    byte[] nodeKeyId = RecipientKey.of(cert.getPublicKey()).id();
    assertEquals("0x" + HEX.formatHex(nodeKeyId), status.json().get("nodeKeyId").asText());

    // 2. The owner checks the node's attestation and allows it as a KMS (measurement, device, OS
    // image, TCB).
    RaTlsIdentity id =
        RaTlsVerifier.builder(new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
            .quotePolicy(QuotePolicy.builder().build())
            .clock(Clock.systemUTC())
            .build()
            .verify(cert);
    Credentials owner = Credentials.create(Files.readString(keys().resolve("owner.key")).trim());
    byte[] request;
    try (ChainClient chain = ChainClient.connect(rpc, Long.parseLong(chainId))) {
      KmsRegistry reg = KmsRegistry.at(chain, registry, owner);
      reg.addKmsMeasurement(id.mrAggregated().toByteArray());
      reg.addKmsDevice(id.deviceId().toByteArray());
      reg.addOsImage(
          id.provenOsImageHash()
              .or(id::osImageHash)
              .map(b -> b.toByteArray())
              .orElse(new byte[32]));
      reg.setTcbPolicy(List.of(id.tcbStatus().name()), List.of());

      // 3. Before the owner authorizes the recovery, a custodian releases nothing.
      Run early = release(1, "0x" + "11".repeat(32), id.mrSystem().hex());
      assertEquals(1, early.exit(), String.valueOf(early.json()));
      assertEquals(
          "RECOVERY_NOT_AUTHORIZED", early.json().get("failure").asText(), early.json().toString());

      request =
          RootCustody.at(chain, custody, owner)
              .authorizeRecovery(1, nodeKeyId, 100)
              .requestId()
              .toByteArray();
    }
    String requestHex = "0x" + HEX.formatHex(request);

    // 4. A custodian that does not trust the node's OS refuses (the custodian's own check).
    Run untrusted = release(1, requestHex, "ab".repeat(32));
    assertEquals(
        "NODE_OS_NOT_TRUSTED",
        untrusted.json().get("failure").asText(),
        untrusted.json().toString());

    ManagedChannel channel = plainTls();
    try {
      RecoveryGrpc.RecoveryBlockingStub node =
          RecoveryGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
      // 5. An unregistered sender is refused before anything is opened.
      byte[] share2 = resealed(2, request, cert, store);
      RecipientKeyPair stranger = RecipientKeyPair.generate(new SecureRandom());
      StatusRuntimeException notCustodian =
          assertThrows(
              StatusRuntimeException.class,
              () -> node.submitShare(submission(2, request, nodeKeyId, share2, stranger)));
      assertEquals("SENDER_NOT_CUSTODIAN", notCustodian.getTrailers().get(GrpcErrors.DENY_REASON));

      // 6. Custodian 2 sends a corrupted share: identified by index, reported, not used.
      byte[] corrupted = share2.clone();
      corrupted[corrupted.length - 20] ^= 1;
      StatusRuntimeException bad =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  node.submitShare(submission(2, request, nodeKeyId, corrupted, custodianKey(2))));
      assertEquals("SHARE_INVALID", bad.getTrailers().get(GrpcErrors.DENY_REASON));
      RecoveryStatus afterBad =
          node.getRecoveryStatus(GetRecoveryStatusRequest.getDefaultInstance());
      assertEquals(2, afterBad.getBadShares(0).getIndex());
      assertEquals("RECOVERING", afterBad.getState());
    } finally {
      channel.shutdownNow();
    }

    // 7. Custodian 1 releases to the node: one of two shares, the node is still not ready and says
    // why.
    Run first = release(1, requestHex, id.mrSystem().hex());
    assertEquals(0, first.exit(), first.json() + first.err());
    JsonNode afterFirst = first.json().get("nodeStatus");
    assertEquals("RECOVERING", afterFirst.get("state").asText());
    assertTrue(
        afterFirst.get("detail").asText().contains("1 of 2 valid shares"), afterFirst.toString());
    assertEquals(
        0,
        roots.list().await().atMost(Duration.ofSeconds(10)).size(),
        "nothing stored before t shares");

    // 8. Custodian 3 releases: the node reconstructs, checks the published identity, seals and
    // serves.
    Run second = release(3, requestHex, id.mrSystem().hex());
    assertEquals(0, second.exit(), second.json() + second.err());
    JsonNode done = second.json().get("nodeStatus");
    assertEquals("RECOVERED", done.get("state").asText(), done.toString());
    assertTrue(done.get("detail").asText().contains("bad shares reported: [2]"), done.toString());

    // 9. The node serves generation 1 (GetKmsInfo lists it once the keyring is loaded) ...
    ManagedChannel info = plainTls();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      int listed = 0;
      while (listed == 0 && System.nanoTime() < deadline) {
        try {
          listed =
              KmsInfoServiceGrpc.newBlockingStub(info)
                  .withDeadlineAfter(10, TimeUnit.SECONDS)
                  .getKmsInfo(GetKmsInfoRequest.getDefaultInstance())
                  .getGenerationsCount();
        } catch (StatusRuntimeException notYet) {
          Thread.sleep(250);
        }
      }
      assertEquals(1, listed, "the recovered node serves its root generation");
    } finally {
      info.shutdownNow();
    }
    // ... and its sealed copy derives the key-derivation vectors byte for byte.
    byte[] recovered = roots.unseal(1).await().atMost(Duration.ofSeconds(10));
    try {
      assertKeysMatchTheVectors(recovered);
    } finally {
      java.util.Arrays.fill(recovered, (byte) 0);
    }
  }

  private static Run release(int index, String request, String mrSystem) throws Exception {
    return cli(
        "custody",
        "release",
        "--rpc-url",
        config("teekms.chain.rpc-url"),
        "--chain-id",
        config("teekms.chain.chain-id"),
        "--custody",
        config("teekms.custody.contract-address"),
        "--key-file",
        keys().resolve("custodian-" + index + ".key").toString(),
        "--store",
        config("teekms.custody.store"),
        "--generation",
        "1",
        "--index",
        Integer.toString(index),
        "--registry",
        config("teekms.chain.registry-address"),
        "--request",
        request,
        "--collateral",
        collateral.toString(),
        "--root-ca",
        rootCa.toString(),
        "--mr-system",
        mrSystem,
        "--to-node",
        NODE);
  }

  /** Custodian {@code index}'s share re-sealed to the node for {@code request}, as release does. */
  private static byte[] resealed(int index, byte[] request, X509Certificate cert, String store)
      throws Exception {
    var backup = new BackupStore(Path.of(store)).read(1);
    Commitments commitments = backup.commitments();
    try (RecipientKeyPair custodian = custodianKey(index);
        Share share =
            CustodianShare.open(
                custodian,
                1,
                index,
                commitments,
                backup.shares().get(index - 1).envelope().toByteArray(),
                backup.shares().get(index - 1).digest())) {
      return ShareEnvelope.seal(
          RecipientKey.of(cert.getPublicKey()),
          EnvelopeContext.recovery(1, index, commitments.digest(), request),
          share,
          new SecureRandom());
    }
  }

  private static SubmitShareRequest submission(
      int index, byte[] request, byte[] nodeKeyId, byte[] envelope, RecipientKeyPair signer) {
    byte[] signature =
        ShareSubmission.sign(
            signer, ShareSubmission.message(1, index, request, nodeKeyId, envelope));
    return SubmitShareRequest.newBuilder()
        .setRequestId(ByteString.copyFrom(request))
        .setIndex(index)
        .setEnvelope(ByteString.copyFrom(envelope))
        .setSignature(ByteString.copyFrom(signature))
        .build();
  }

  /**
   * The recovered root derives the vectors' KMS root key and disk keys of generation 1 byte for
   * byte.
   */
  private static void assertKeysMatchTheVectors(byte[] recovered) throws Exception {
    JsonNode v =
        JSON.readTree(
            Path.of(System.getProperty("teekms.docs", "../docs"), "key-derivation-vectors.json")
                .toFile());
    List<String> checked = new ArrayList<>();
    try (RootKeyring ring =
        new RootKeyring(1, SecretBytes.copyOf(recovered, InsecureSecretAccess.get()))) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      for (JsonNode k : v.get("kmsRootKeys")) {
        if (k.get("generation").asInt() != 1) continue;
        try (DerivedKey root = kms.kmsRootKey(1)) {
          assertEquals(k.get("publicKey").asText(), HEX.formatHex(root.publicKey()));
          checked.add("kms-root");
        }
      }
      for (JsonNode k : v.get("keys")) {
        if (k.get("generation").asInt() != 1 || !k.get("purpose").asText().equals("disk")) continue;
        KeyRequest r =
            KeyRequest.disk(
                new org.teekms.keys.VersionRef(
                    1, AppId.fromHex(k.get("appId").asText()), k.get("version").asInt()),
                InstanceId.fromHex(k.get("instanceId").asText()),
                k.get("path").asText());
        try (DerivedKey disk =
            kms.derive(r, new KeyVersionPolicy(k.get("version").asInt(), 1, java.util.Set.of()))) {
          assertEquals(
              k.get("privateKey").asText(),
              HEX.formatHex(disk.privateKeyBytes(InsecureSecretAccess.get())));
          checked.add("disk");
        }
      }
    }
    assertTrue(checked.size() >= 3, "checked " + checked);
  }
}
