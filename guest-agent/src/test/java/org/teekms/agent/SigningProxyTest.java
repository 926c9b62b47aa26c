package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.agent.api.GuestApi;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.proxy.AttestationReporter;
import org.teekms.agent.proxy.ResponseSigner;
import org.teekms.agent.proxy.SignatureStore;
import org.teekms.agent.proxy.SigningProxy;
import org.teekms.attest.gpu.SimulatedGpuEvidenceProvider;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.crypto.Bytes;
import org.teekms.verifier.Check;
import org.teekms.verifier.ResponseVerification;
import org.teekms.verifier.SignedText;

/**
 * The signing proxy, for real, in front of a fake OpenAI-compatible upstream; signatures checked
 * three ways.
 */
class SigningProxyTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String TOKEN = "s3cret-token";
  static TestKms kms;
  static RunningAgent agent;
  static SimulatedGpuEvidenceProvider gpu;
  static FakeOpenAi upstream;
  static Vertx vertx;
  static ResponseSigner signer;
  static SigningProxy proxy;
  static final HttpClient http = HttpClient.newHttpClient();
  @TempDir static Path dir;

  @BeforeAll
  static void start() throws Exception {
    kms = new TestKms("{\"name\":\"kms\"}");
    gpu = SimulatedGpuEvidenceProvider.enable(1);
    kms.allow(AgentFixture.APP, compose().composeHash().toByteArray());
    agent =
        AgentFixture.boot(
            kms,
            AgentFixture.COMPOSE,
            AgentFixture.registering(kms),
            2,
            new AgentFixture.RecordingSleeper(),
            gpu);
    upstream = new FakeOpenAi();
    vertx = Vertx.vertx();
    signer = new ResponseSigner(agent.keys().responseSigningKey());
    proxy =
        SigningProxy.start(
            vertx,
            new SigningProxy.Settings(
                "127.0.0.1",
                0,
                URI.create(upstream.url()),
                Optional.empty(),
                Optional.of(TOKEN),
                64 * 1024,
                1 << 20,
                Duration.ofSeconds(5),
                Duration.ofSeconds(30)),
            signer,
            new SignatureStore(1000, Duration.ofMinutes(10), SimulatedRaTls.CLOCK),
            new AttestationReporter(agent, signer, new GuestApi(agent)));
  }

  @AfterAll
  static void stop() throws Exception {
    proxy.close();
    signer.close();
    vertx.close().toCompletionStage().toCompletableFuture().get();
    upstream.close();
    agent.close();
    kms.close();
  }

  static AppCompose compose() {
    return AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8));
  }

  static HttpResponse<byte[]> post(String path, byte[] body, String token) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static HttpResponse<byte[]> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
            .header("Authorization", "Bearer " + TOKEN)
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  static JsonNode signatureOf(byte[] response, String idField) throws Exception {
    String id;
    if (idField != null) {
      id = idField;
    } else {
      id = JSON.readTree(response).get("id").asText();
    }
    HttpResponse<byte[]> r = get("/v1/signature/" + id);
    assertEquals(200, r.statusCode(), new String(r.body()));
    return JSON.readTree(r.body());
  }

  static String ethersRecover(JsonNode signature) throws Exception {
    Path f = dir.resolve("sig-" + System.nanoTime() + ".json");
    Files.writeString(f, signature.toString());
    NodeRunner.Result r = NodeRunner.node("verify-signature.mjs", Map.of(), List.of(f.toString()));
    assertEquals(0, r.exit(), r.stderr());
    return JSON.readTree(r.stdout()).get("recovered").asText();
  }

  @Test
  void nonStreamingRoundTripIsFaithfulAndSigned() throws Exception {
    byte[] req =
        ("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi ünïcode\"}],"
                + "\"temperature\":0}")
            .getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> r = post("/v1/chat/completions", req, TOKEN);
    assertEquals(200, r.statusCode());
    assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("Grüße aus der TEE — 你好"));
    FakeOpenAi.Received got = upstream.received.get(upstream.received.size() - 1);
    assertArrayEquals(req, got.body(), "the upstream gets the request bytes unchanged");
    assertNull(got.authorization(), "our bearer token is not forwarded");
    JsonNode sig = signatureOf(r.body(), null);
    assertEquals(SignedText.textOfBodies(CHAT, req, r.body()), sig.get("text").asText());
    assertTrue(
        sig.get("text").asText().startsWith("teekms-response-v2 POST /v1/chat/completions "));
    assertEquals(signer.address(), sig.get("signing_address").asText());
    assertEquals("ecdsa", sig.get("signing_algo").asText());
    assertEquals(
        signer.address(),
        SignedText.recover(sig.get("text").asText(), sig.get("signature").asText())
            .get()
            .toChecksumString());
    assertEquals(signer.address(), ethersRecover(sig), "ethers.verifyMessage agrees");
    // text completions too
    byte[] req2 = "{\"model\":\"demo\",\"prompt\":\"hello\"}".getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> r2 = post("/v1/completions", req2, TOKEN);
    assertEquals(
        SignedText.textOfBodies(
            new SignedText.Endpoint("POST", "/v1/completions"), req2, r2.body()),
        signatureOf(r2.body(), null).get("text").asText());
  }

  @Test
  void streamingIsRelayedByteForByteAndSignedOverWhatTheClientGot() throws Exception {
    byte[] req =
        "{\"model\":\"demo\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> r = post("/v1/chat/completions", req, TOKEN);
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    String id =
        new String(r.body(), StandardCharsets.UTF_8)
            .replaceAll("(?s)^data: \\{\"id\":\"([^\"]+)\".*", "$1");
    byte[] sent = upstream.streams.get(id).toByteArray();
    assertArrayEquals(sent, r.body(), "the client receives exactly the upstream's bytes");
    JsonNode sig = signatureOf(r.body(), id);
    assertEquals(SignedText.textOfBodies(CHAT, req, r.body()), sig.get("text").asText());
    assertEquals(signer.address(), ethersRecover(sig));
  }

  @Test
  void upstreamErrorsPassThroughUnsigned() throws Exception {
    byte[] req = "{\"model\":\"missing\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> r = post("/v1/chat/completions", req, TOKEN);
    assertEquals(404, r.statusCode());
    assertEquals(
        "{\"error\":{\"message\":\"The model `missing` does not exist.\",\"type\":\"NotFoundError\","
            + "\"code\":404}}",
        new String(r.body(), StandardCharsets.UTF_8));
    assertEquals(404, get("/v1/signature/none-such").statusCode());
  }

  @Test
  void aClientThatLeavesMidStreamGetsNoSignatureAndAnUnreachableUpstreamIs502() throws Exception {
    byte[] req =
        "{\"model\":\"slow\",\"stream\":true,\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
    String id;
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", proxy.port())) {
      s.getOutputStream()
          .write(
              ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + TOKEN
                      + "\r\nContent-Type: application/json\r\nContent-Length: "
                      + req.length
                      + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().write(req);
      s.getOutputStream().flush();
      java.io.BufferedReader in =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
      String line;
      do {
        line = in.readLine();
      } while (line != null && !line.contains("\"id\":\"chatcmpl-"));
      id = line.replaceAll(".*\"id\":\"(chatcmpl-[0-9]+)\".*", "$1");
    } // the client leaves after the first event
    long start = System.nanoTime();
    assertEquals(404, get("/v1/signature/" + id).statusCode());
    assertTrue(
        System.nanoTime() - start < 4_000_000_000L,
        "an abandoned stream does not keep signature readers waiting");

    try (SigningProxy broken =
        SigningProxy.start(
            vertx,
            new SigningProxy.Settings(
                "127.0.0.1",
                0,
                URI.create("http://127.0.0.1:1"),
                Optional.empty(),
                Optional.empty(),
                1024,
                1024,
                Duration.ofSeconds(1),
                Duration.ofSeconds(5)),
            signer,
            new SignatureStore(10, Duration.ofMinutes(1), SimulatedRaTls.CLOCK),
            new AttestationReporter(agent, signer, new GuestApi(agent)))) {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + broken.port() + "/v1/chat/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString("{}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(502, r.statusCode());
      assertTrue(r.body().contains("upstream unreachable"), r.body());
    }
  }

  @Test
  void authSizeLimitsAndModels() throws Exception {
    byte[] req = "{\"model\":\"demo\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
    int before = upstream.received.size();
    assertEquals(401, post("/v1/chat/completions", req, null).statusCode());
    assertEquals(401, post("/v1/chat/completions", req, "wrong").statusCode());
    assertEquals(413, post("/v1/chat/completions", new byte[70_000], TOKEN).statusCode());
    assertEquals(before, upstream.received.size(), "refused requests never reach the upstream");
    HttpResponse<byte[]> models = get("/v1/models");
    assertEquals(200, models.statusCode());
    assertEquals("demo", JSON.readTree(models.body()).at("/data/0/id").asText());
  }

  @Test
  void attestationReportBindsTheSigningAddressAndNonce() throws Exception {
    String nonce = "ab".repeat(32);
    JsonNode rep = JSON.readTree(get("/v1/attestation/report?nonce=" + nonce).body());
    assertEquals(signer.address(), rep.get("signing_address").asText());
    assertEquals(nonce, rep.get("request_nonce").asText());
    byte[] rd =
        TdxQuote.parse(HexFormat.of().parseHex(rep.get("intel_quote").asText()))
            .tdReport()
            .reportData()
            .toByteArray();
    assertArrayEquals(
        AttestationReporter.reportData(
            HexFormat.of().parseHex(signer.address().substring(2)), HexFormat.of().parseHex(nonce)),
        rd);
    assertTrue(rep.get("nvidia_payload").asText().contains("\"nonce\":\"" + nonce + "\""));
    assertEquals(AgentFixture.APP.toHex(), rep.at("/info/app_id").asText());
    JsonNode fresh = JSON.readTree(get("/v1/attestation/report").body());
    assertEquals(64, fresh.get("request_nonce").asText().length());
    assertNotEquals(nonce, fresh.get("request_nonce").asText());
    assertEquals(400, get("/v1/attestation/report?nonce=abcd").statusCode());
  }

  static ProxyVerdicts.Verifier verifier(byte[] nonce) {
    return verifierAt(nonce, CHAT);
  }

  static final SignedText.Endpoint CHAT = new SignedText.Endpoint("POST", "/v1/chat/completions");

  /**
   * A signature made for one endpoint is refused when presented as the answer of another (method,
   * path, query).
   */
  @Test
  void aSignatureReplayedOnAnotherEndpointIsRejected() throws Exception {
    byte[] req = "{\"model\":\"demo\",\"prompt\":\"replay me\"}".getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> r = post("/v1/completions?tenant=a", req, TOKEN);
    assertEquals(200, r.statusCode());
    byte[] sig = JSON.writeValueAsBytes(signatureOf(r.body(), null));
    byte[] nonce = new byte[32];
    new Random(8).nextBytes(nonce);
    byte[] report = get("/v1/attestation/report?nonce=" + HexFormat.of().formatHex(nonce)).body();
    ProxyVerdicts.Verdict right =
        verifierAt(nonce, new SignedText.Endpoint("POST", "/v1/completions?tenant=a"))
            .verify(report, sig, req, r.body());
    assertTrue(right.valid(), right.details().toPrettyString());
    for (SignedText.Endpoint other :
        List.of(
            CHAT,
            new SignedText.Endpoint("POST", "/v1/completions"),
            new SignedText.Endpoint("POST", "/v1/completions?tenant=b"),
            new SignedText.Endpoint("PUT", "/v1/completions?tenant=a"))) {
      ProxyVerdicts.Verdict v = verifierAt(nonce, other).verify(report, sig, req, r.body());
      assertFalse(v.valid(), other.toString());
      assertEquals("ENDPOINT_MISMATCH", v.failure(), other.toString());
      assertEquals(
          "the response was signed for POST /v1/completions?tenant=a, presented for " + other,
          v.error());
    }
  }

  static ProxyVerdicts.Verifier verifierAt(byte[] nonce, SignedText.Endpoint endpoint) {
    return new ProxyVerdicts.Verifier(
        Optional.of(nonce),
        endpoint,
        false,
        ProxyVerdicts.gpuRoot(gpu),
        ProxyVerdicts.identity(
            compose().composeHash().toByteArray(), java.util.Set.of(AGENT_OS), true));
  }

  /**
   * The golden mrSystem of the fixture's CVM: the agent boots in a simulated TD whose MRTD and
   * RTMR0-2 are all zero (no firmware events), so SHA-256 of 192 zero bytes (the vector in
   * docs/security.md).
   */
  static final org.teekms.crypto.Bytes AGENT_OS =
      org.teekms.crypto.Bytes.fromHex(
          "5d89f056865052bcb89c910d2d62872e029fb273c3db03f8968a52a41593c1b5");

  @Test
  void theReportRefusesGpuEvidenceFromOtherDevicesThanMeasuredAtBoot() throws Exception {
    String nonce = "ab".repeat(32);
    // The same CVM (its boot log, keys) but the GPUs answering now are others (swapped, or another
    // machine's).
    RunningAgent swapped =
        new RunningAgent(
            agent.identity(),
            agent.keys(),
            agent.credentials(),
            SimulatedRaTls.TDX.newCvm(new byte[48], false),
            agent.eventLog(),
            SimulatedGpuEvidenceProvider.enable(1),
            null,
            Optional.empty(),
            agent.clock());
    org.teekms.agent.api.ApiException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            org.teekms.agent.api.ApiException.class,
            () -> new AttestationReporter(swapped, signer, new GuestApi(swapped)).report(nonce));
    assertTrue(e.getMessage().contains("not the devices measured at boot"), e.getMessage());
    // A CVM whose log never measured its GPUs cannot vouch for any.
    org.teekms.attest.sim.SimulatedCvm cvm = SimulatedRaTls.TDX.newCvm(new byte[48], false);
    RunningAgent unmeasured =
        new RunningAgent(
            agent.identity(),
            agent.keys(),
            agent.credentials(),
            cvm,
            new org.teekms.attest.provider.RuntimeEventLog(cvm, List.of()),
            gpu,
            null,
            Optional.empty(),
            agent.clock());
    e =
        org.junit.jupiter.api.Assertions.assertThrows(
            org.teekms.agent.api.ApiException.class,
            () ->
                new AttestationReporter(unmeasured, signer, new GuestApi(unmeasured))
                    .report(nonce));
    assertTrue(e.getMessage().contains("measured no gpu-devices"), e.getMessage());
    // The honest agent's report carries evidence of its boot-time GPUs.
    assertTrue(
        new AttestationReporter(agent, signer, new GuestApi(agent))
            .report(nonce)
            .has("nvidia_payload"));
  }

  @Test
  void theOfflineVerifierAcceptsTheExchangeAndRejectsEveryEditedByte() throws Exception {
    byte[] req =
        "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"verify me\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    byte[] resp = post("/v1/chat/completions", req, TOKEN).body();
    byte[] sig = JSON.writeValueAsBytes(signatureOf(resp, null));
    byte[] nonce = new byte[32];
    new Random(7).nextBytes(nonce);
    byte[] report = get("/v1/attestation/report?nonce=" + HexFormat.of().formatHex(nonce)).body();
    ProxyVerdicts.Verifier v = verifier(nonce);
    ProxyVerdicts.Verdict ok = v.verify(report, sig, req, resp);
    assertTrue(ok.valid(), ok.details().toPrettyString());
    assertEquals(Check.Status.PASS, ok.status(ResponseVerification.GPUS));
    assertEquals(Check.Status.PASS, ok.status(ResponseVerification.COMPOSE));

    // every byte of the request and of the response is covered
    for (byte[] target : new byte[][] {req, resp}) {
      for (int i = 0; i < target.length; i++) {
        target[i] ^= 0x01;
        ProxyVerdicts.Verdict bad = v.verify(report, sig, req, resp);
        target[i] ^= 0x01;
        assertFalse(bad.valid(), "edited byte " + i);
        assertEquals("TEXT_MISMATCH", bad.failure());
      }
    }
    // the signature, the quote, the event log, the nonce and the GPU payload are covered
    ObjectNode s = (ObjectNode) JSON.readTree(sig);
    String good = s.get("signature").asText();
    s.put(
        "signature",
        good.substring(0, 10) + (good.charAt(10) == 'a' ? 'b' : 'a') + good.substring(11));
    assertEquals(
        "SIGNATURE_INVALID", v.verify(report, JSON.writeValueAsBytes(s), req, resp).failure());
    ObjectNode rep = (ObjectNode) JSON.readTree(report);
    // Edit the evidence itself: a report whose all_attestations/model_attestations copies disagree
    // with it is refused
    // before these checks run (MALFORMED_REPORT, DropInVerifierCompatibilityTest), so the edits go
    // without copies.
    rep.remove(List.of("all_attestations", "model_attestations"));
    assertTrue(
        v.verify(JSON.writeValueAsBytes(rep), sig, req, resp).valid(),
        "the report without copies is valid");
    String quote = rep.get("intel_quote").asText();
    Random rnd = new Random(42);
    for (int k = 0; k < 40; k++) {
      int pos = rnd.nextInt(quote.length() / 2 - 48) + 48; // body and signature area
      byte[] q = HexFormat.of().parseHex(quote);
      q[pos] ^= (byte) (1 << rnd.nextInt(8));
      ObjectNode edited = rep.deepCopy();
      edited.put("intel_quote", HexFormat.of().formatHex(q));
      assertFalse(
          v.verify(JSON.writeValueAsBytes(edited), sig, req, resp).valid(), "quote byte " + pos);
    }
    ObjectNode editedLog = rep.deepCopy();
    editedLog.put(
        "event_log", rep.get("event_log").asText().replace("\"compose-hash\"", "\"compose-hasH\""));
    assertFalse(v.verify(JSON.writeValueAsBytes(editedLog), sig, req, resp).valid());
    assertEquals("NONCE_MISMATCH", verifier(new byte[32]).verify(report, sig, req, resp).failure());
    ObjectNode otherGpu = rep.deepCopy();
    otherGpu.put(
        "nvidia_payload",
        JSON.readTree(get("/v1/attestation/report?nonce=" + "cd".repeat(32)).body())
            .get("nvidia_payload")
            .asText());
    assertEquals(
        "GPU_NONCE_MISMATCH", v.verify(JSON.writeValueAsBytes(otherGpu), sig, req, resp).failure());
    // GPU evidence of another machine, fresh for this very nonce and valid under that machine's
    // root, relayed into
    // this CVM's report: only the boot-time gpu-devices event of the quoted CVM tells it apart.
    SimulatedGpuEvidenceProvider otherMachine = SimulatedGpuEvidenceProvider.enable(1);
    ObjectNode relayed = rep.deepCopy();
    relayed.put(
        "nvidia_payload",
        new org.teekms.verifier.NvidiaPayload(Bytes.copyOf(nonce), otherMachine.collect(nonce))
            .encode());
    ProxyVerdicts.Verdict r =
        new ProxyVerdicts.Verifier(
                Optional.of(nonce),
                CHAT,
                false,
                ProxyVerdicts.gpuRoot(otherMachine),
                ProxyVerdicts.identity(
                    compose().composeHash().toByteArray(), java.util.Set.of(AGENT_OS), true))
            .verify(JSON.writeValueAsBytes(relayed), sig, req, resp);
    assertEquals("GPU_DEVICE_CHANGED", r.failure(), r.details().toPrettyString());
    assertTrue(
        ProxyVerdicts.gpuRoot(otherMachine)
            .verify(otherMachine.collect(nonce), nonce, Instant.now())
            .stream()
            .allMatch(org.teekms.attest.gpu.GpuResult::valid),
        "the relayed reports verify on their own");
    // another compose file
    ProxyVerdicts.Verdict c =
        new ProxyVerdicts.Verifier(
                Optional.of(nonce),
                CHAT,
                false,
                null,
                ProxyVerdicts.identity(new byte[32], java.util.Set.of(AGENT_OS), false))
            .verify(report, sig, req, resp);
    assertEquals("COMPOSE_HASH_NOT_ALLOWED", c.failure(), c.details().toPrettyString());
    // the OS the hardware measured must be one the verifier trusts: the compose hash alone is the
    // OS's claim
    assertEquals(AGENT_OS.hex(), ok.details().at("/facts/quote/mrSystem").asText());
    assertEquals(Check.Status.PASS, ok.status(ResponseVerification.OS_IMAGE));
    for (var golden :
        List.of(
            java.util.Set.<org.teekms.crypto.Bytes>of(),
            java.util.Set.of(org.teekms.crypto.Bytes.copyOf(new byte[32])))) {
      ProxyVerdicts.Verdict unproven =
          new ProxyVerdicts.Verifier(
                  Optional.of(nonce),
                  CHAT,
                  false,
                  ProxyVerdicts.gpuRoot(gpu),
                  ProxyVerdicts.identity(compose().composeHash().toByteArray(), golden, true))
              .verify(report, sig, req, resp);
      assertFalse(unproven.valid());
      assertEquals(
          "OS_IMAGE_MEASUREMENT_MISMATCH", unproven.failure(), unproven.details().toPrettyString());
    }
  }

  /**
   * A flood of {@code GET /v1/attestation/report} (public, a fresh quote + GPU evidence each)
   * against a proxy with small bounds: from one source, only the burst reaches the quote provider
   * (the rest 429 with Retry-After); nonce-less requests share one cached report; no more reports
   * are made at once than allowed.
   */
  @Test
  void attestationReportFloodCallsTheQuoteProviderABoundedNumberOfTimes() throws Exception {
    java.util.concurrent.atomic.AtomicInteger quotes =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger evidence =
        new java.util.concurrent.atomic.AtomicInteger();
    // An agent of its own whose quote provider and GPU evidence provider count their calls.
    RunningAgent counted =
        AgentFixture.boot(
            kms,
            AgentFixture.COMPOSE,
            AgentFixture.registering(kms),
            null,
            2,
            new AgentFixture.RecordingSleeper(),
            nonce -> {
              evidence.incrementAndGet();
              return gpu.collect(nonce);
            },
            org.teekms.agent.env.EnvSettings.NONE,
            null,
            cvm ->
                reportData -> {
                  quotes.incrementAndGet();
                  return cvm.quote(reportData);
                });
    ResponseSigner countedSigner = new ResponseSigner(counted.keys().responseSigningKey());
    quotes.set(0); // the boot's own quote and evidence (its RA-TLS certificate) are not counted
    evidence.set(0);
    int burst = 5;
    org.teekms.agent.proxy.ReportLimits limits =
        new org.teekms.agent.proxy.ReportLimits(1, burst, 100, 2, Duration.ofMinutes(1));
    try (SigningProxy bounded =
        SigningProxy.start(
            vertx,
            new SigningProxy.Settings(
                "127.0.0.1",
                0,
                URI.create(upstream.url()),
                Optional.empty(),
                Optional.of(TOKEN),
                1024,
                1024,
                Duration.ofSeconds(1),
                Duration.ofSeconds(5)),
            countedSigner,
            new SignatureStore(10, Duration.ofMinutes(1), SimulatedRaTls.CLOCK),
            new AttestationReporter(counted, countedSigner, new GuestApi(counted), limits))) {
      Map<Integer, Integer> statuses = new java.util.TreeMap<>();
      String retryAfter = null;
      for (int i = 0; i < 200; i++) {
        String nonce = String.format("%064x", i);
        HttpResponse<byte[]> r =
            http.send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:"
                                + bounded.port()
                                + "/v1/attestation/report"
                                + (i % 2 == 0 ? "?nonce=" + nonce : "")))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        statuses.merge(r.statusCode(), 1, Integer::sum);
        if (r.statusCode() == 429) {
          retryAfter = r.headers().firstValue("Retry-After").orElse(null);
          assertTrue(
              new String(r.body(), StandardCharsets.UTF_8)
                  .contains("proxy.report-requests-per-minute"));
        }
      }
      assertEquals(burst, statuses.getOrDefault(200, 0), "only the burst is served: " + statuses);
      assertEquals(200 - burst, statuses.getOrDefault(429, 0), statuses.toString());
      assertTrue(retryAfter != null && Integer.parseInt(retryAfter) >= 1, "Retry-After given");
      // Of the 5 served, 3 carried a nonce (fresh reports) and 2 did not (one report, cached): 4
      // reports made, each one GPU evidence collection and two quotes (the report's, and Info's own
      // for its tcb_info, public_sysinfo being true here).
      assertEquals(4, evidence.get(), "200 requests from one source: 4 reports made");
      assertEquals(8, quotes.get(), "... and 8 quotes");
    }
    // Nonce-less requests share the cached report, whoever asks.
    try {
      AttestationReporter reporter =
          new AttestationReporter(counted, countedSigner, new GuestApi(counted), limits);
      int before = quotes.get();
      ObjectNode first = reporter.report(null);
      for (int i = 0; i < 100; i++) {
        assertEquals(
            first.get("request_nonce").asText(),
            reporter.report(null).get("request_nonce").asText());
      }
      assertEquals(before + 2, quotes.get(), "101 nonce-less reports: one report made");
    } finally {
      countedSigner.close();
      counted.close();
    }
  }
}
