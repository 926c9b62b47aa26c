package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.RimStore;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.collateral.CollateralDirectory;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GpuPolicy;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.verifier.NvidiaPayload;
import org.teekms.verifier.service.VerifierService;
import org.web3j.crypto.Credentials;

/**
 * The verifier service through real HTTP, on a real local chain: the demo-style signed exchange and
 * each tampering (one byte of the response, the signature, the quote, GPU evidence from another
 * nonce, the compose hash removed on chain) give the same rows as {@code teekms verify response};
 * limits, errors, the policy with its history, and the OpenAPI endpoints.
 */
@Timeout(180)
class VerifierServiceTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HexFormat HEX = HexFormat.of();
  static AnvilNode anvil;
  static ChainClient chain;
  static KmsRegistry registry;
  static Credentials owner;
  static VerifierService service;
  static SignedExchange x;
  static AppPolicy app;
  static HttpClient http = HttpClient.newHttpClient();
  @TempDir static Path dir;

  @BeforeAll
  static void start() throws Exception {
    anvil = AnvilNode.start();
    chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    owner = anvil.fundedAccount();
    registry = KmsRegistry.deploy(chain, owner, owner.getAddress()).registry();
    registry.setTcbPolicy(List.of("UpToDate"), List.of());
    registry.addOsImage(SignedExchange.OS_IMAGE);
    app = AppPolicy.at(chain, registry.registerApp(owner.getAddress()).appId(), owner);
    app.setGpuRequirements(new GpuPolicy(1, "HOPPER", 0));
    x =
        SignedExchange.create(
            dir.resolve("x"),
            HEX.parseHex(app.address().substring(2)),
            SignedExchange.COMPOSE,
            SignedExchange.OS_IMAGE);
    app.addComposeHash(x.composeHash());
    registry.addOsImageMeasurement(SignedExchange.OS_IMAGE, x.mrSystem());
    service = VerifierService.start(config(x, anvil.rpcUrl(), registry.address(), 64 * 1024));
  }

  static VerifierService.Config config(
      SignedExchange x, String rpcUrl, String registryAddress, long maxBody) throws Exception {
    GpuEvidenceVerifier gpu =
        GpuEvidenceVerifier.builder(x.gpu().deviceRoot())
            .revocation(RevocationChecker.disabled())
            .rimStore(RimStore.load(x.rims(), x.gpu().rimRoot()))
            .build();
    return new VerifierService.Config(
        "127.0.0.1",
        0,
        new DcapQuoteVerifier(SimulatedRaTls.TDX.rootCertificate()),
        CollateralDirectory.load(x.collateral()),
        gpu,
        Optional.of(
            PolicyReaderConfig.defaults(rpcUrl, AnvilNode.CHAIN_ID, registryAddress)
                .withConfirmations(0, false)
                .withCache(Duration.ZERO, 0)),
        maxBody,
        Duration.ofSeconds(30),
        Clock.systemUTC());
  }

  @AfterAll
  static void stop() {
    if (service != null) service.close();
    if (chain != null) chain.close();
    if (anvil != null) anvil.close();
  }

  record Reply(int status, JsonNode json) {}

  static Reply post(String path, String body) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), r.body().isEmpty() ? null : JSON.readTree(r.body()));
  }

  static Reply get(String path) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + path))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), JSON.readTree(r.body()));
  }

  /** The exchange as a /verify/response request, expecting the app's on-chain policy. */
  static ObjectNode request(SignedExchange x, String appId) throws Exception {
    ObjectNode b = JSON.createObjectNode();
    b.put("report", Files.readString(x.report()));
    b.set("signature", JSON.readTree(Files.readAllBytes(x.signature())));
    b.put("request", Files.readString(x.request()));
    b.put("response", Files.readString(x.response()));
    b.put("app", appId);
    return b;
  }

  List<String> cliArgs() {
    List<String> a = new ArrayList<>(x.args());
    a.addAll(
        List.of(
            "--rpc-url",
            anvil.rpcUrl(),
            "--chain-id",
            Long.toString(AnvilNode.CHAIN_ID),
            "--registry",
            registry.address(),
            "--app",
            app.address()));
    return a;
  }

  /** Rows without details (the block number in a detail may move between two reads). */
  static List<String> rows(JsonNode verdict) {
    List<String> out = new ArrayList<>();
    for (JsonNode c : verdict.get("checks")) {
      out.add(
          c.get("name").asText() + " " + c.get("status").asText() + " " + c.get("code").asText(""));
    }
    return out;
  }

  @Test
  void theSignedExchangeIsValidWithTheSameRowsAsTheCli() throws Exception {
    Reply r = post("/verify/response", request(x, app.address()).toString());
    assertEquals(200, r.status());
    assertTrue(r.json().get("valid").asBoolean(), r.json().toPrettyString());
    VerifyResponseCommandTest.Run cli = VerifyResponseCommandTest.run(cliArgs());
    assertEquals(0, cli.exit());
    assertEquals(rows(cli.json()), rows(r.json()));
    assertEquals(7, r.json().get("checks").size());
  }

  /**
   * The CLI's verdict (on-chain identity) on the exchange with {@code original} replaced by {@code
   * content}.
   */
  VerifyResponseCommandTest.Run cliWith(Path original, String content) throws Exception {
    Path copy = Files.createTempDirectory(dir, "tampered").resolve(original.getFileName());
    Files.writeString(copy, content);
    List<String> a = new ArrayList<>(cliArgs());
    a.set(a.indexOf(original.toString()), copy.toString());
    return VerifyResponseCommandTest.run(a);
  }

  /**
   * The service's verdict equals the CLI's, row by row, and fails at {@code check} with {@code
   * code}.
   */
  static void failsAt(String check, String code, Reply service, VerifyResponseCommandTest.Run cli) {
    assertEquals(200, service.status());
    assertFalse(service.json().get("valid").asBoolean());
    assertEquals(code, service.json().get("failure").asText(), service.json().toString());
    assertEquals(check, service.json().get("failedCheck").asText(), service.json().toString());
    assertEquals(1, cli.exit(), cli.err());
    assertEquals(rows(cli.json()), rows(service.json()));
  }

  @Test
  void eachTamperingShowsThePreciseFailingCheckAsTheCliDoes() throws Exception {
    ObjectNode edited = request(x, app.address());
    String resp = edited.get("response").asText();
    edited.put("response", resp.replace("\"4\"", "\"5\""));
    Reply byte1 = post("/verify/response", edited.toString());
    assertEquals("TEXT_MISMATCH", byte1.json().get("failure").asText());
    assertEquals("signature", byte1.json().get("failedCheck").asText());
    failsAt(
        "signature",
        "TEXT_MISMATCH",
        byte1,
        cliWith(x.response(), edited.get("response").asText()));

    ObjectNode badSignature = request(x, app.address());
    badSignature.set("signature", JSON.readTree(x.signatureWithOneDigitChanged()));
    failsAt(
        "signature",
        "SIGNATURE_INVALID",
        post("/verify/response", badSignature.toString()),
        cliWith(x.signature(), x.signatureWithOneDigitChanged()));

    ObjectNode badQuote = request(x, app.address());
    badQuote.put("report", x.reportWithTamperedQuote());
    Reply quote = post("/verify/response", badQuote.toString());
    failsAt(
        "quote REPORTDATA",
        "QUOTE_INVALID",
        quote,
        cliWith(x.report(), x.reportWithTamperedQuote()));
    assertEquals(
        "SKIP",
        quote.json().at("/checks/3/status").asText(),
        "nothing after an unverified quote passes");

    ObjectNode otherApp = request(x, "0x" + "99".repeat(20));
    Reply other = post("/verify/response", otherApp.toString());
    assertEquals("APP_ID_MISMATCH", other.json().get("failure").asText());

    ObjectNode gpu = request(x, app.address());
    ObjectNode report = (ObjectNode) JSON.readTree(gpu.get("report").asText());
    byte[] n2 = new byte[32];
    n2[31] = 1;
    report.put("nvidia_payload", new NvidiaPayload(n2, x.gpu().evidence(n2)).encode());
    gpu.put("report", report.toString());
    assertEquals(
        "GPU_NONCE_MISMATCH",
        post("/verify/response", gpu.toString()).json().get("failure").asText());
    failsAt(
        "GPUs",
        "GPU_NONCE_MISMATCH",
        post("/verify/response", gpu.toString()),
        cliWith(x.report(), x.reportWithGpuEvidenceFor(n2)));

    app.removeComposeHash(x.composeHash());
    try {
      Reply removed = post("/verify/response", request(x, app.address()).toString());
      assertEquals("COMPOSE_HASH_NOT_ALLOWED", removed.json().get("failure").asText());
      assertEquals("compose hash (on chain)", removed.json().get("failedCheck").asText());
      VerifyResponseCommandTest.Run cli = VerifyResponseCommandTest.run(cliArgs());
      assertEquals(rows(cli.json()), rows(removed.json()));
      JsonNode policy = get("/policy/" + app.address()).json();
      assertEquals(0, policy.get("composeHashes").size());
      JsonNode last = policy.at("/history/events").get(policy.at("/history/events").size() - 1);
      assertEquals(
          "ComposeHashRemoved", last.get("event").asText(), policy.get("history").toString());
      assertEquals("0x" + HEX.formatHex(x.composeHash()), last.at("/args/composeHash").asText());
      assertEquals(owner.getAddress().toLowerCase(), last.at("/args/by").asText().toLowerCase());
    } finally {
      app.addComposeHash(x.composeHash());
    }
  }

  @Test
  void withoutAnExpectedIdentityTheRequestIsRefused() throws Exception {
    ObjectNode b = request(x, app.address());
    b.remove("app");
    Reply r = post("/verify/response", b.toString());
    assertEquals(400, r.status());
    assertTrue(
        r.json().get("error").asText().startsWith("no expected identity"), r.json().toString());
    ObjectNode explicit = request(x, app.address());
    explicit.remove("app");
    ObjectNode e = explicit.putObject("expected");
    e.put("composeHash", HEX.formatHex(x.composeHash()));
    e.put("osImage", HEX.formatHex(SignedExchange.OS_IMAGE));
    e.putArray("mrSystems").add(HEX.formatHex(x.mrSystem()));
    e.put("requireGpu", true);
    Reply ok = post("/verify/response", explicit.toString());
    assertTrue(ok.json().get("valid").asBoolean(), ok.json().toString());
    assertEquals("compose hash", ok.json().at("/checks/5/name").asText());
    assertEquals(400, post("/verify/response", "[1,2]").status());
    assertEquals(
        400,
        post(
                "/verify/response",
                "{\"app\":\"0x12\",\"report\":{},\"signature\":{},"
                    + "\"request\":\"\",\"response\":\"\"}")
            .status());
  }

  @Test
  void theModelCommittingTextInTheNearLayoutIsAcceptedWhenAskedAndATamperedModelRefused()
      throws Exception {
    SignedExchange near =
        SignedExchange.create(
            dir.resolve("near"),
            HEX.parseHex("42".repeat(20)),
            SignedExchange.COMPOSE,
            SignedExchange.OS_IMAGE,
            org.teekms.verifier.SignedText.Format.NEAR_MODEL,
            true);
    ObjectNode b = request(near, app.address());
    b.remove("app");
    // the service under test takes 64 KiB bodies: the report goes without its two copies of itself
    // (the CLI test
    // covers all_attestations/model_attestations)
    ObjectNode report = (ObjectNode) JSON.readTree(b.get("report").asText());
    report.remove(List.of("all_attestations", "model_attestations"));
    report.putNull(
        "nvidia_payload"); // this exchange's simulated GPU has another root than the service trusts
    b.put("report", report.toString());
    ObjectNode e = b.putObject("expected");
    e.put("composeHash", HEX.formatHex(near.composeHash()));
    e.put("osImage", HEX.formatHex(SignedExchange.OS_IMAGE));
    e.putArray("mrSystems").add(HEX.formatHex(near.mrSystem()));
    assertEquals(
        "TEXT_FORMAT_NOT_ACCEPTED",
        post("/verify/response", b.toString()).json().get("failure").asText());
    b.put("acceptNearText", true);
    Reply ok = post("/verify/response", b.toString());
    assertTrue(ok.json().get("valid").asBoolean(), ok.json().toString());
    assertEquals("near-model", ok.json().at("/facts/signature/format").asText());
    ObjectNode sig = (ObjectNode) b.get("signature");
    sig.put("text", "other-model" + sig.get("text").asText().substring("demo".length()));
    Reply bad = post("/verify/response", b.toString());
    assertEquals("MODEL_MISMATCH", bad.json().get("failure").asText(), bad.json().toString());
    assertEquals("signature", bad.json().get("failedCheck").asText());
  }

  @Test
  void oversizedBodiesAndUnknownPathsAreRefused() throws Exception {
    Reply big = post("/verify/response", "{\"x\":\"" + "a".repeat(70 * 1024) + "\"}");
    assertEquals(413, big.status());
    assertEquals(404, get("/nope").status());
  }

  /**
   * A chain endpoint that accepts connections and never answers: the request is cut at the
   * service's timeout.
   */
  @Test
  void aRequestRunningPastTheTimeoutIsAnswered503() throws Exception {
    try (java.net.ServerSocket silent =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      VerifierService.Config c =
          config(x, "http://127.0.0.1:" + silent.getLocalPort(), registry.address(), 64 * 1024);
      VerifierService.Config slow =
          new VerifierService.Config(
              c.host(),
              0,
              c.dcap(),
              c.collateral(),
              c.gpu(),
              c.chain(),
              c.maxBodyBytes(),
              Duration.ofSeconds(1),
              c.clock());
      try (VerifierService s = VerifierService.start(slow)) {
        long start = System.nanoTime();
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + s.port() + "/policy/" + app.address()))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(503, r.statusCode(), r.body());
        assertEquals(
            "the request took longer than 1000 ms", JSON.readTree(r.body()).get("error").asText());
        assertTrue(
            System.nanoTime() - start < Duration.ofSeconds(20).toNanos(), "cut at the timeout");
      }
    }
  }

  @Test
  void policyQuoteGpuAndOpenApiEndpoints() throws Exception {
    Reply p = get("/policy/" + app.address());
    assertEquals(200, p.status());
    assertEquals("REGISTERED", p.json().get("status").asText());
    assertEquals("0x" + HEX.formatHex(x.composeHash()), p.json().at("/composeHashes/0").asText());
    assertEquals(
        "0x" + HEX.formatHex(x.mrSystem()),
        p.json().at("/osImages/0x" + HEX.formatHex(SignedExchange.OS_IMAGE) + "/0").asText());
    assertEquals(1, p.json().at("/gpuPolicy/count").asInt());
    assertEquals(1, p.json().at("/rotation/currentKeyVersion").asInt());
    assertEquals(400, get("/policy/nothex").status());
    JsonNode history = p.json().get("history");
    assertTrue(history.get("readable").asBoolean(), history.toString());
    assertEquals(p.json().get("blockNumber").asLong(), history.get("blockNumber").asLong());
    List<String> events = new ArrayList<>();
    for (JsonNode e : history.get("events")) {
      events.add(e.get("contract").asText() + " " + e.get("event").asText());
      assertTrue(
          e.get("blockNumber").asLong() <= history.get("blockNumber").asLong(),
          "read at the pinned block");
    }
    for (String e :
        List.of(
            "KmsRegistry TcbPolicyChanged",
            "KmsRegistry OsImageAdded",
            "KmsRegistry AppRegistered",
            "AppPolicy GpuRequirementsChanged",
            "AppPolicy ComposeHashAdded",
            "KmsRegistry OsImageMeasurementAdded")) {
      assertTrue(events.contains(e), e + " in " + events);
    }
    assertTrue(
        events.indexOf("KmsRegistry AppRegistered") < events.indexOf("AppPolicy ComposeHashAdded"),
        "oldest first");
    for (JsonNode e : history.get("events")) {
      if (e.get("event").asText().equals("OsImageMeasurementAdded")) {
        assertEquals("0x" + HEX.formatHex(x.mrSystem()), e.at("/args/mrSystem").asText());
        assertEquals(
            "0x" + HEX.formatHex(SignedExchange.OS_IMAGE), e.at("/args/osImageHash").asText());
      }
    }

    JsonNode report = JSON.readTree(Files.readAllBytes(x.report()));
    Reply q = post("/verify/quote", "{\"quote\":\"" + report.get("intel_quote").asText() + "\"}");
    assertTrue(q.json().get("valid").asBoolean(), q.json().toString());
    assertEquals(HEX.formatHex(x.mrSystem()), q.json().at("/td/mrSystem").asText());
    Reply badQuote = post("/verify/quote", "{\"quote\":\"00ff\"}");
    assertFalse(badQuote.json().get("valid").asBoolean());

    ObjectNode g = JSON.createObjectNode();
    g.put("nvidia_payload", report.get("nvidia_payload").asText());
    Reply gpu = post("/verify/gpu", g.toString());
    assertTrue(gpu.json().get("valid").asBoolean(), gpu.json().toString());
    assertEquals("MATCHED", gpu.json().at("/gpus/0/measurements").asText());
    g.put("nonce", "22".repeat(32));
    Reply other = post("/verify/gpu", g.toString());
    assertFalse(other.json().get("valid").asBoolean());
    assertEquals("NONCE_MISMATCH", other.json().at("/gpus/0/failure").asText());

    Reply none = get("/audit/anchor");
    assertEquals(200, none.status(), none.json().toString());
    assertEquals(0, none.json().get("entryCount").asLong(), "nothing anchored yet");
    byte[] head = new byte[32];
    head[0] = 7;
    registry.anchorAuditHead(head, 12);
    Reply anchored = get("/audit/anchor");
    assertEquals(HEX.formatHex(head), anchored.json().get("head").asText());
    assertEquals(12, anchored.json().get("entryCount").asLong());
    assertTrue(
        anchored.json().get("atBlock").asLong() <= anchored.json().get("blockNumber").asLong());

    HttpResponse<String> api =
        http.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + service.port() + "/openapi.json"))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    JsonNode openapi = JSON.readTree(api.body());
    for (String path :
        List.of(
            "/verify/response", "/verify/quote", "/verify/gpu", "/policy/{app}", "/audit/anchor")) {
      assertTrue(openapi.get("paths").has(path), path);
    }
  }
}
