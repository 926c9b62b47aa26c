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
import java.time.Instant;
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
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.collateral.CachingCollateralSource;
import org.teekms.attest.tdx.collateral.CollateralDirectory;
import org.teekms.attest.tdx.collateral.FakePcsServer;
import org.teekms.attest.tdx.collateral.PcsCollateralClient;
import org.teekms.cli.demo.DemoExchange;
import org.teekms.cli.demo.DemoExchangeFixture;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GpuPolicy;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.verifier.service.KmsAuditor;
import org.teekms.verifier.service.VerifierService;
import org.web3j.crypto.Credentials;

/**
 * The verifier service through real HTTP, on a real local chain: the demo's own signed exchange
 * ({@link SignedExchange#fromDemo}: the demo's CVM, signing proxy and chat step; its {@value
 * DemoExchange#FILE} posted as it is written) and each tampering (one byte of the response, the
 * signature, the quote, GPU evidence from another nonce, the compose hash removed on chain) give
 * the same rows as {@code teekms verify response}; collateral from a PCCS through the cache;
 * limits, errors, the policy with its history, the audit endpoints and the OpenAPI description.
 */
@Timeout(240)
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
    registry.addOsImage(DemoExchangeFixture.OS_IMAGE);
    app = AppPolicy.at(chain, registry.registerApp(owner.getAddress()).appId(), owner);
    app.setGpuRequirements(new GpuPolicy(1, "HOPPER", 0));
    x =
        SignedExchange.fromDemo(
            dir.resolve("demo"),
            app.address(),
            anvil.rpcUrl(),
            AnvilNode.CHAIN_ID,
            registry.address());
    app.addComposeHash(x.composeHash());
    registry.addOsImageMeasurement(DemoExchangeFixture.OS_IMAGE, x.mrSystem());
    service =
        VerifierService.start(
            config(
                x,
                anvil.rpcUrl(),
                registry.address(),
                VerifierService.Config.DEFAULT_MAX_BODY_BYTES));
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
    return post(service, path, body);
  }

  static Reply post(VerifierService to, String path, String body) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + path))
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
  void theDemosSignedExchangeIsValidWithTheSameRowsAsTheCli() throws Exception {
    Reply r = post("/verify/response", request(x, app.address()).toString());
    assertEquals(200, r.status());
    assertTrue(r.json().get("valid").asBoolean(), r.json().toPrettyString());
    VerifyResponseCommandTest.Run cli = VerifyResponseCommandTest.run(cliArgs());
    assertEquals(0, cli.exit(), cli.err());
    assertEquals(rows(cli.json()), rows(r.json()));
    assertEquals(7, r.json().get("checks").size());
  }

  /**
   * The demo's signed-exchange.json, posted exactly as the demo writes it, is a complete request:
   * it names the app (the on-chain policy is the expected identity), the endpoint and the nonce.
   */
  @Test
  void theDemosSignedExchangeFilePostedAsWrittenVerifiesAgainstTheAppsOnChainPolicy()
      throws Exception {
    JsonNode manifest = DemoExchange.read(x.manifest());
    assertEquals(DemoExchange.FORMAT, manifest.get("format").asText());
    assertEquals(app.address(), manifest.get("app").asText());
    assertEquals(anvil.rpcUrl(), manifest.at("/chain/rpcUrl").asText());
    assertEquals(registry.address(), manifest.at("/chain/registry").asText());
    assertEquals(Files.readString(x.request()), manifest.get("request").asText());
    Reply r = post("/verify/response", Files.readString(x.manifest()));
    assertEquals(200, r.status(), String.valueOf(r.json()));
    assertTrue(r.json().get("valid").asBoolean(), r.json().toPrettyString());
    assertTrue(
        r.json()
            .get("expected")
            .asText()
            .toLowerCase(java.util.Locale.ROOT)
            .contains(app.address().substring(2).toLowerCase(java.util.Locale.ROOT)),
        r.json().get("expected").asText());
    assertEquals(HEX.formatHex(x.nonce()), r.json().at("/facts/nonce").asText());

    // the explicit identity the file states verifies too
    ObjectNode explicit = (ObjectNode) manifest.deepCopy();
    explicit.remove("app");
    explicit.set("expected", explicit.remove("explicit"));
    Reply e = post("/verify/response", explicit.toString());
    assertTrue(e.json().get("valid").asBoolean(), e.json().toPrettyString());
    assertEquals("compose hash", e.json().at("/checks/5/name").asText());

    Reply tampered =
        post("/verify/response", x.manifestWith("response", x.responseWithOneByteChanged()));
    assertEquals("TEXT_MISMATCH", tampered.json().get("failure").asText());
    Reply otherNonce = post("/verify/response", x.manifestWith("nonce", "00".repeat(32)));
    assertEquals("NONCE_MISMATCH", otherNonce.json().get("failure").asText());
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
    edited.put("response", x.responseWithOneByteChanged());
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
    byte[] n2 = new byte[32];
    n2[31] = 1;
    gpu.put("report", x.reportWithGpuEvidenceFor(n2));
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
    e.put("osImage", HEX.formatHex(DemoExchangeFixture.OS_IMAGE));
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
    try (VerifierService small =
        VerifierService.start(config(x, anvil.rpcUrl(), registry.address(), 64 * 1024))) {
      Reply big = post(small, "/verify/response", "{\"x\":\"" + "a".repeat(70 * 1024) + "\"}");
      assertEquals(413, big.status());
      assertEquals("request body larger than 65536 bytes", big.json().get("error").asText());
    }
    assertEquals(404, get("/nope").status());
  }

  /** A clock the test moves: the cache's time and the verification time. */
  static final class MovableClock extends Clock {
    private volatile Instant now = Instant.now();

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  /**
   * {@code teekms verifier serve --pccs-url}: collateral comes from the PCCS through {@link
   * CachingCollateralSource} (the CLI's composition: PCCS client, default 24 h bound). Two
   * verifications cost the PCCS one fetch; past the bound the collateral is fetched again; past it
   * with the PCCS gone, the quote is refused (no stale collateral is used).
   */
  @Test
  void collateralIsFetchedFromThePccsOnceThenCachedAndRefetchedOrRefusedOnceExpired()
      throws Exception {
    MovableClock clock = new MovableClock();
    String tcb = "/tdx/certification/v4/tcb";
    String body = Files.readString(x.manifest());
    FakePcsServer pccs =
        new FakePcsServer(
            SimulatedRaTls.TDX.collateral().toCollateral(), "tdx", SimulatedTdx.FMSPC);
    VerifierService.Config c =
        config(
            x, anvil.rpcUrl(), registry.address(), VerifierService.Config.DEFAULT_MAX_BODY_BYTES);
    try (VerifierService s =
        VerifierService.start(
            new VerifierService.Config(
                c.host(),
                0,
                c.dcap(),
                new CachingCollateralSource(new PcsCollateralClient(pccs.baseUrl()), clock),
                c.gpu(),
                c.chain(),
                c.maxBodyBytes(),
                c.requestTimeout(),
                clock))) {
      for (int i = 0; i < 2; i++) {
        Reply r = post(s, "/verify/response", body);
        assertTrue(r.json().get("valid").asBoolean(), r.json().toPrettyString());
      }
      assertEquals(1, pccs.byPath.get(tcb), pccs.byPath.toString());
      assertEquals(
          4, pccs.requests.get(), "one fetch: TCB info, QE identity, PCK CRL, root CA CRL");

      clock.advance(CachingCollateralSource.DEFAULT_MAX_AGE.plus(Duration.ofMinutes(1)));
      Reply refetched = post(s, "/verify/response", body);
      assertTrue(refetched.json().get("valid").asBoolean(), refetched.json().toPrettyString());
      assertEquals(2, pccs.byPath.get(tcb), "expired: fetched again");

      pccs.close();
      clock.advance(CachingCollateralSource.DEFAULT_MAX_AGE.plus(Duration.ofMinutes(1)));
      Reply refused = post(s, "/verify/response", body);
      assertFalse(refused.json().get("valid").asBoolean());
      assertEquals("QUOTE_INVALID", refused.json().get("failure").asText());
      assertEquals("quote REPORTDATA", refused.json().get("failedCheck").asText());
      assertTrue(
          refused.json().get("error").asText().contains(pccs.baseUrl()),
          "the PCCS that could not be reached is named: " + refused.json().get("error"));
      assertEquals(2, pccs.byPath.get(tcb));
    } finally {
      pccs.close();
    }
  }

  /**
   * {@code GET /audit/events} without {@code --kms} is 503, and a KMS that cannot be reached is a
   * one-line 502 naming it (the page's browser test against a real KMS is in kms-server).
   */
  @Test
  void auditEventsNeedAReachableKms() throws Exception {
    Reply none = get("/audit/events");
    assertEquals(503, none.status());
    assertEquals(
        "this verifier has no KMS configured (--kms HOST:PORT)", none.json().get("error").asText());
    int closed;
    try (java.net.ServerSocket s =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    VerifierService.Config c =
        config(x, anvil.rpcUrl(), registry.address(), VerifierService.Config.DEFAULT_MAX_BODY_BYTES)
            .withKms(new KmsAuditor.Address("127.0.0.1", closed));
    try (VerifierService s = VerifierService.start(c)) {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/audit/events"))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(502, r.statusCode(), r.body());
      String error = JSON.readTree(r.body()).get("error").asText();
      assertTrue(
          error.startsWith(
              "cannot fetch the audit log: cannot reach the KMS at 127.0.0.1:" + closed),
          error);
      assertFalse(error.contains("Exception"), error);
    }
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
        p.json().at("/osImages/0x" + HEX.formatHex(DemoExchangeFixture.OS_IMAGE) + "/0").asText());
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
            "0x" + HEX.formatHex(DemoExchangeFixture.OS_IMAGE), e.at("/args/osImageHash").asText());
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
            "/verify/response",
            "/verify/quote",
            "/verify/gpu",
            "/policy/{app}",
            "/audit/anchor",
            "/audit/events")) {
      assertTrue(openapi.get("paths").has(path), path);
    }
  }
}
