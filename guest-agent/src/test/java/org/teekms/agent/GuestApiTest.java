package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.agent.api.GuestApi;
import org.teekms.agent.api.GuestApiServer;
import org.teekms.attest.eventlog.DstackAttestation;
import org.teekms.attest.eventlog.EventLogVerifier;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.attest.eventlog.VerifiedEventLog;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.VersionRef;

/** The key API on a unix socket: our own checks, then the real dstack JS SDK against it. */
class GuestApiTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static TestKms kms;
  static RunningAgent agent;
  static Vertx vertx;
  static GuestApiServer server;
  @TempDir static Path dir;
  static UnixHttpClient client;

  @BeforeAll
  static void start() throws Exception {
    kms = new TestKms("{\"name\":\"kms\"}");
    agent = AgentFixture.boot(kms);
    vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    server =
        GuestApiServer.start(
            vertx,
            new GuestApi(agent),
            GuestApiServer.Settings.defaults(dir.resolve("dstack.sock")));
    client = UnixHttpClient.on(vertx, server.socket());
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    server.close();
    vertx.close().toCompletionStage().toCompletableFuture().get();
    agent.close();
    kms.close();
  }

  static JsonNode call(String method, String body, int expectStatus) throws Exception {
    UnixHttpClient.Response r = client.post("/" + method, body);
    assertEquals(expectStatus, r.status(), r.body());
    return JSON.readTree(r.body());
  }

  @Test
  void socketModeIsApplied() throws Exception {
    assertEquals(
        "rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(server.socket())));
    assertTrue(Files.notExists(dir.resolve(".dstack.sock.binding")));
  }

  @Test
  void getKeyIsTheKmsDerivationOfTheDstackPathAndPurpose() throws Exception {
    JsonNode r =
        call(
            "GetKey",
            "{\"path\":\"wallet/eth\",\"purpose\":\"signing\",\"algorithm\":\"secp256k1\"}",
            200);
    KeyVersionPolicy policy = KeyVersionPolicy.initial();
    try (DerivedKey expected =
        new AppKeyDeriver(kms.deriver.appRootSecret(new VersionRef(1, AgentFixture.APP, 1), policy))
            .derive(
                KeyRequest.user(
                    new VersionRef(1, AgentFixture.APP, 1),
                    KeyAlgorithm.SECP256K1,
                    "dstack:7:signingwallet/eth"))) {
      assertEquals(
          HexFormat.of().formatHex(expected.privateKeyBytes(InsecureSecretAccess.get())),
          r.get("key").asText());
    }
    assertEquals(2, r.get("signature_chain").size());
    assertEquals(kms.rootAddress().toChecksumString(), r.get("kms_root_address").asText());
  }

  @Test
  void aTlsCertificateNotIssuedByTheAppCaIsRefused() throws Exception {
    kms.rogueCa.set(true);
    try {
      assertTrue(
          call("GetTlsKey", "{\"subject\":\"x.example\"}", 502)
              .get("error")
              .asText()
              .contains("not signed by the app CA"));
    } finally {
      kms.rogueCa.set(false);
    }
    assertTrue(
        call("GetTlsKey", "{\"subject\":\"x.example\"}", 200).get("certificate_chain").size() == 1);
  }

  @Test
  void badRequestsGetDstackStyleErrors() throws Exception {
    assertTrue(
        call("GetQuote", "{\"report_data\":\"zz\"}", 400)
            .get("error")
            .asText()
            .contains("not valid hex"));
    assertTrue(
        call("GetQuote", "{\"report_data\":\"" + "00".repeat(65) + "\"}", 400)
            .get("error")
            .asText()
            .contains("at most 64"));
    assertTrue(
        call("GetKey", "{\"algorithm\":\"rsa\"}", 400)
            .get("error")
            .asText()
            .contains("unsupported"));
    assertTrue(call("Nope", "{}", 404).has("error"));
    assertTrue(call("GetKey", "not json", 400).has("error"));
    assertTrue(call("GetKey", "{\"path\":\"" + "a".repeat(70_000) + "\"}", 413).has("error"));
    assertFalse(
        call(
                "Verify",
                "{\"algorithm\":\"secp256k1\",\"data\":\"00\",\"signature\":\""
                    + "11".repeat(64)
                    + "\",\"public_key\":\"02"
                    + "11".repeat(32)
                    + "\"}",
                200)
            .get("valid")
            .asBoolean());
  }

  @Test
  void everyOversizedRequestGetsItsAnswerEvenWhenTheServerAnswersBeforeTheBodyIsSent()
      throws Exception {
    // The server answers 413 while the client is still writing; the client must still read that
    // whole answer
    // (a race in the client once lost it about one time in several hundred).
    String oversized = "{\"path\":\"" + "a".repeat(70_000) + "\"}";
    for (int i = 0; i < 300; i++) {
      assertTrue(call("GetKey", oversized, 413).has("error"), "request " + i);
    }
  }

  @Test
  void theDstackSdkEmitsAnAppEventIntoRtmr3ButNoReservedOne() throws Exception {
    NodeRunner.Result r =
        NodeRunner.node(
            "emit-event.mjs",
            Map.of("DSTACK_SIMULATOR_ENDPOINT", server.socket().toString()),
            List.of());
    assertEquals(0, r.exit(), r.stderr());
    JsonNode out = JSON.readTree(r.stdout());
    assertTrue(out.path("events").toString().contains("app-model-loaded"), out.toString());
    // The SDK's emitEvent ignores the agent's answer; the refusal shows in the log (and in the 400
    // below).
    long composeEvents =
        agent.eventLog().entries().stream().filter(e -> e.name().equals("compose-hash")).count();
    assertEquals(1, composeEvents, "the refused event was not measured");
    // The SDK's replay of the quote's event log gives the quote's RTMR3: the event is verifiable.
    JsonNode quote = call("GetQuote", "{\"report_data\":\"00\"}", 200);
    byte[] q = java.util.HexFormat.of().parseHex(quote.get("quote").asText());
    assertEquals(
        java.util.HexFormat.of()
            .formatHex(org.teekms.attest.tdx.TdxQuote.parse(q).tdReport().rtmr(3).toByteArray()),
        out.path("replayedRtmr3").asText().replace("0x", ""));
    assertEquals(
        400,
        UnixHttpClient.post(server.socket(), "/EmitEvent", "{\"event\":\"system-ready\"}")
            .status());
    assertEquals(
        400,
        UnixHttpClient.post(
                server.socket(), "/EmitEvent", "{\"event\":\"compose-hash\",\"payload\":\"ab\"}")
            .status());
    assertEquals(
        400, UnixHttpClient.post(server.socket(), "/EmitEvent", "{\"event\":\"a b\"}").status());
    assertEquals(
        413,
        UnixHttpClient.post(
                server.socket(),
                "/EmitEvent",
                "{\"event\":\"big\",\"payload\":\""
                    + "00".repeat(GuestApi.MAX_EVENT_PAYLOAD + 1)
                    + "\"}")
            .status());
  }

  @Test
  void theDstackSdkAttestsWithDstacksVersionedAttestationThatReplaysToItsQuote() throws Exception {
    NodeRunner.Result r =
        NodeRunner.node(
            "attest.mjs",
            Map.of("DSTACK_SIMULATOR_ENDPOINT", server.socket().toString()),
            List.of());
    assertEquals(0, r.exit(), r.stderr());
    JsonNode out = JSON.readTree(r.stdout());
    assertEquals("AttestResponse", out.at("/short/name").asText());
    byte[] shortData =
        java.util.Arrays.copyOf(
            "hello tee-kms".getBytes(java.nio.charset.StandardCharsets.UTF_8), 64);
    byte[] fullData = new byte[64];
    for (int i = 0; i < 64; i++) {
      fullData[i] = (byte) i;
    }
    for (var c :
        List.of(
            Map.entry("/short/attestation", shortData), Map.entry("/full/attestation", fullData))) {
      byte[] blob = HexFormat.of().parseHex(out.at(c.getKey()).asText());
      assertEquals(0, blob[0], "VersionedAttestation::V0");
      DstackAttestation a = DstackAttestation.decode(blob);
      assertArrayEquals(blob, a.encode(), "canonical encoding");
      assertEquals(Bytes.copyOf(c.getValue()), a.reportData());
      TdReport td = TdxQuote.parse(a.quote().toByteArray()).tdReport();
      assertEquals(
          Bytes.copyOf(c.getValue()), td.reportData(), "the quote is over the padded report data");
      VerifiedEventLog log = EventLogVerifier.verify(a.eventLog(), QuotedMeasurements.of(td));
      assertEquals(AgentFixture.APP.toHex(), log.identity().appId().hex());
      List<String> runtime =
          a.runtimeEvents().stream().map(DstackAttestation.RuntimeEvent::name).toList();
      assertEquals(
          a.eventLog().stream()
              .filter(e -> e.imr() == 3 && e.isRuntimeEvent())
              .map(e -> e.name())
              .toList(),
          runtime,
          "runtime_events are the log's RTMR3 events");
      assertTrue(
          runtime.contains("compose-hash") && runtime.contains("system-ready"), runtime.toString());
      assertEquals(out.at("/quote/vm_config").asText(), a.config());
    }
    // the deprecated tdxQuote goes to GetQuote
    assertEquals(HexFormat.of().formatHex(fullData), out.at("/tdxQuote/reportData").asText());
    // the SDK refuses these itself; the agent refuses the same report data with a one-line error
    assertTrue(out.at("/tooLong").asText().contains("too large"), out.toString());
    assertTrue(out.at("/deriveKey").asText().contains("deprecated"), out.toString());
    assertTrue(
        call("Attest", "{\"report_data\":\"" + "00".repeat(65) + "\"}", 400)
            .get("error")
            .asText()
            .contains("at most 64"));
    assertTrue(
        call("Attest", "{\"report_data\":\"xyz\"}", 400)
            .get("error")
            .asText()
            .contains("not valid hex"));
    assertTrue(
        call("Attest", "{\"report_data\":7}", 400)
            .get("error")
            .asText()
            .contains("must be a string"));
    assertTrue(
        call("Attest", "{\"report_data\":\"" + "0".repeat(1000) + "\"}", 400)
            .get("error")
            .asText()
            .contains("at most 64 bytes"));
  }

  @Test
  void theDstackJsSdkGetsKeysQuotesInfoAndVerifiesThem() throws Exception {
    NodeRunner.Result r =
        NodeRunner.node(
            "dstack-compat.mjs",
            Map.of("DSTACK_SIMULATOR_ENDPOINT", server.socket().toString()),
            List.of());
    assertEquals(0, r.exit(), r.stderr());
    JsonNode out = JSON.readTree(r.stdout());
    String root = kms.rootAddress().toChecksumString().toLowerCase();
    // Info
    assertEquals(AgentFixture.APP.toHex(), out.at("/info/app_id").asText());
    assertEquals(AgentFixture.INSTANCE.toHex(), out.at("/info/instance_id").asText());
    assertEquals("demo-llm", out.at("/info/app_name").asText());
    assertEquals(
        out.at("/info/compose_hash").asText(),
        out.at("/info/compose_hash_of_app_compose").asText());
    assertTrue(out.at("/info/events").toString().contains("system-ready"));
    // GetKey: deterministic, purpose-separated, chains to the KMS root
    assertEquals(
        call("GetKey", "{\"path\":\"wallet/eth\",\"purpose\":\"signing\"}", 200)
            .get("key")
            .asText(),
        out.at("/secp256k1/key").asText());
    assertTrue(out.at("/secp256k1/deterministic").asBoolean());
    assertTrue(out.at("/secp256k1/purposeSeparates").asBoolean());
    assertEquals(root, out.at("/secp256k1/kmsRoot").asText());
    assertEquals(root, out.at("/ed25519/kmsRoot").asText());
    // GetQuote: the SDK's own RTMR replay matches the quote, REPORTDATA is the padded input
    assertEquals(out.at("/quote/quotedRtmr3").asText(), out.at("/quote/replayedRtmr3").asText());
    assertEquals(
        out.at("/quote/expectedReportData").asText(), out.at("/quote/quotedReportData").asText());
    assertEquals(
        out.at("/quote/expectedReportData").asText(), out.at("/quote/reportData").asText());
    // Sign / Verify
    assertTrue(out.at("/sign/secp256k1").asBoolean());
    assertTrue(out.at("/sign/ed25519").asBoolean());
    assertTrue(out.at("/sign/prehashed").asBoolean());
    assertTrue(out.at("/sign/agentVerify").asBoolean());
    assertFalse(out.at("/sign/agentRejectsOther").asBoolean());
    // GetTlsKey: a certificate from the KMS's SignCert under the app CA, for the key we got
    assertTrue(out.at("/tls/keyMatches").asBoolean());
    assertTrue(out.at("/tls/subjectAltName").asText().contains("DNS:api.demo.example"));
    X509Certificate leaf =
        (X509Certificate)
            CertificateFactory.getInstance("X.509")
                .generateCertificate(
                    new ByteArrayInputStream(out.at("/tls/certificatePem").asText().getBytes()));
    try (DerivedKey ca =
        kms.deriver.derive(
            KeyRequest.tlsCa(new VersionRef(1, AgentFixture.APP, 1)), KeyVersionPolicy.initial())) {
      leaf.verify(TestKms.p256Public(ca));
    }
    assertEquals(GuestApi.VERSION, out.at("/version/version").asText());
    assertTrue(out.at("/reachable").asBoolean());
  }
}
