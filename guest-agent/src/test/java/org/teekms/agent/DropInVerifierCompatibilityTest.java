package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import org.teekms.agent.proxy.AttestationReporter;
import org.teekms.agent.proxy.ResponseSigner;
import org.teekms.agent.proxy.SignatureStore;
import org.teekms.agent.proxy.SigningProxy;
import org.teekms.attest.gpu.SimulatedGpuEvidenceProvider;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.crypto.Bytes;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.verifier.SignedText;

/**
 * The proxy as a drop-in for NEAR AI's and Redpill's public verifiers (docs/verifiable-inference.md
 * §3): their checks, re-implemented independently in near-chat-verifier.mjs, accept our signatures
 * and reports in both algorithms; the report is public, honours signing_address (older key versions
 * included) and signing_algo; and our own verifier still checks everything, the model id of the
 * near-model text on top.
 *
 * <p>Two agents of the same app: {@code before} booted at key version 1, {@code after} booted once
 * the app rotated to version 2 (it holds versions 1 and 2), each behind a proxy signing the
 * near-model text with a bearer token.
 */
class DropInVerifierCompatibilityTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String TOKEN = "drop-in-token";
  static final SignedText.Endpoint CHAT = new SignedText.Endpoint("POST", "/v1/chat/completions");
  static final HttpClient http = HttpClient.newHttpClient();
  static TestKms kms;
  static SimulatedGpuEvidenceProvider gpu;
  static FakeOpenAi upstream;
  static Vertx vertx;
  static RunningAgent before;
  static RunningAgent after;
  static ResponseSigner signerBefore;
  static ResponseSigner signerAfter;
  static SigningProxy proxyBefore;
  static SigningProxy proxyAfter;
  @TempDir static Path dir;

  @BeforeAll
  static void start() throws Exception {
    kms = new TestKms("{\"name\":\"kms\"}");
    gpu = SimulatedGpuEvidenceProvider.enable(1);
    kms.allow(AgentFixture.APP, SigningProxyTest.compose().composeHash().toByteArray());
    upstream = new FakeOpenAi();
    vertx = Vertx.vertx();
    before =
        AgentFixture.boot(
            kms,
            AgentFixture.COMPOSE,
            AgentFixture.registering(kms),
            2,
            new AgentFixture.RecordingSleeper(),
            gpu);
    signerBefore = ResponseSigner.forAgent(before.keys(), SignedText.Format.NEAR_MODEL);
    proxyBefore = proxy(before, signerBefore);
    kms.policies.put(Bytes.copyOf(AgentFixture.APP.toBytes()), KeyVersionPolicy.initial().rotate());
    after =
        AgentFixture.boot(
            kms,
            AgentFixture.COMPOSE,
            AgentFixture.registering(kms),
            2,
            new AgentFixture.RecordingSleeper(),
            gpu);
    signerAfter = ResponseSigner.forAgent(after.keys(), SignedText.Format.NEAR_MODEL);
    proxyAfter = proxy(after, signerAfter);
  }

  static SigningProxy proxy(RunningAgent agent, ResponseSigner signer) throws Exception {
    return SigningProxy.start(
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
        new SignatureStore(100, Duration.ofMinutes(10), SimulatedRaTls.CLOCK),
        new AttestationReporter(agent, signer, new GuestApi(agent)));
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c :
        new AutoCloseable[] {proxyBefore, proxyAfter, signerBefore, signerAfter}) {
      if (c != null) {
        c.close();
      }
    }
    vertx.close().toCompletionStage().toCompletableFuture().get();
    upstream.close();
    before.close();
    after.close();
    kms.close();
  }

  static HttpResponse<byte[]> send(
      SigningProxy p, String method, String path, byte[] body, String token) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body))
            .header("Content-Type", "application/json");
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static JsonNode json(HttpResponse<byte[]> r) throws Exception {
    return JSON.readTree(r.body());
  }

  /** One chat exchange through {@code p}: request and response bytes, and the chat id. */
  record Exchange(byte[] request, byte[] response, String id) {}

  static Exchange chat(SigningProxy p, String content) throws Exception {
    byte[] req =
        ("{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}")
            .getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> r = send(p, "POST", "/v1/chat/completions", req, TOKEN);
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    return new Exchange(req, r.body(), json(r).get("id").asText());
  }

  static ProxyVerdicts.Verifier verifier(byte[] nonce, boolean acceptNearText) {
    return new ProxyVerdicts.Verifier(
        Optional.of(nonce),
        CHAT,
        acceptNearText,
        ProxyVerdicts.gpuRoot(gpu),
        ProxyVerdicts.identity(
            SigningProxyTest.compose().composeHash().toByteArray(),
            java.util.Set.of(SigningProxyTest.AGENT_OS),
            true));
  }

  static byte[] nonce(int seed) {
    byte[] n = new byte[32];
    new Random(seed).nextBytes(n);
    return n;
  }

  @Test
  void nearsChatVerifierChecksAcceptOurSignatureAndReportInBothAlgorithms() throws Exception {
    Exchange x = chat(proxyAfter, "drop in?");
    Path req = Files.write(dir.resolve("req-" + x.id()), x.request());
    Path resp = Files.write(dir.resolve("resp-" + x.id()), x.response());
    for (String algo : List.of("ecdsa", "ed25519")) {
      NodeRunner.Result r =
          NodeRunner.node(
              "near-chat-verifier.mjs",
              Map.of("BASE_URL", "http://127.0.0.1:" + proxyAfter.port(), "API_KEY", TOKEN),
              List.of(x.id(), req.toString(), resp.toString(), "demo", algo));
      assertEquals(0, r.exit(), r.stderr());
      JsonNode out = JSON.readTree(r.stdout());
      assertEquals(200, out.get("signatureStatus").asInt(), out.toString());
      assertEquals(200, out.get("reportStatus").asInt(), "fetched without credentials: " + out);
      assertEquals(3, out.get("textParts").asInt(), "model:request_hash:response_hash");
      assertEquals(SignedText.SIGNATURE_KIND, out.get("signatureKind").asText());
      for (String check :
          List.of(
              "requestHashMatches",
              "responseHashMatches",
              "signatureValid",
              "attestationFound",
              "allAttestationsHasSigner",
              "bindsAddress",
              "embedsNonce",
              "gpuNonceMatches")) {
        assertTrue(out.path(check).asBoolean(), algo + " " + check + ": " + out);
      }
    }
  }

  @Test
  void theReportIsPublicWhileChatAndSignaturesNeedTheToken() throws Exception {
    HttpResponse<byte[]> report = send(proxyAfter, "GET", "/v1/attestation/report", null, null);
    assertEquals(200, report.statusCode(), new String(report.body(), StandardCharsets.UTF_8));
    assertEquals(signerAfter.address(), json(report).get("signing_address").asText());
    assertEquals(
        200, send(proxyAfter, "GET", "/v1/attestation/report", null, "wrong").statusCode());
    assertEquals(
        401,
        send(
                proxyAfter,
                "POST",
                "/v1/chat/completions",
                "{\"model\":\"demo\"}".getBytes(StandardCharsets.UTF_8),
                null)
            .statusCode());
    assertEquals(401, send(proxyAfter, "GET", "/v1/signature/chatcmpl-1", null, null).statusCode());
    assertEquals(401, send(proxyAfter, "GET", "/v1/models", null, null).statusCode());
    assertEquals(
        401,
        send(proxyAfter, "POST", "/v1/attestation/report", new byte[0], null).statusCode(),
        "only GET of the report is public");
  }

  @Test
  void aVerifierPageOnAnotherOriginMayReadTheReportAndSignaturesButNotChat() throws Exception {
    HttpResponse<byte[]> preflight =
        send(proxyAfter, "OPTIONS", "/v1/signature/chatcmpl-1", null, null);
    assertEquals(204, preflight.statusCode());
    assertEquals("*", preflight.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
    assertEquals(
        "Authorization",
        preflight.headers().firstValue("Access-Control-Allow-Headers").orElse(null));
    assertEquals(
        "*",
        send(proxyAfter, "GET", "/v1/attestation/report", null, null)
            .headers()
            .firstValue("Access-Control-Allow-Origin")
            .orElse(null));
    HttpResponse<byte[]> signature =
        send(proxyAfter, "GET", "/v1/signature/chatcmpl-1", null, null);
    assertEquals(401, signature.statusCode(), "the token is still required");
    assertEquals("*", signature.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
    HttpResponse<byte[]> chat = send(proxyAfter, "OPTIONS", "/v1/chat/completions", null, null);
    assertEquals(401, chat.statusCode());
    assertTrue(
        chat.headers().firstValue("Access-Control-Allow-Origin").isEmpty(),
        "chat is not cross-origin readable");
  }

  @Test
  void theReportCarriesAllAndModelAttestationsEqualToItself() throws Exception {
    JsonNode report =
        json(
            send(proxyAfter, "GET", "/v1/attestation/report?nonce=" + "ab".repeat(32), null, null));
    ObjectNode bare = ((ObjectNode) report).deepCopy();
    bare.remove(List.of("all_attestations", "model_attestations"));
    assertEquals(1, report.get("all_attestations").size());
    assertEquals(1, report.get("model_attestations").size());
    assertEquals(bare, report.get("all_attestations").get(0));
    assertEquals(bare, report.get("model_attestations").get(0));
    assertEquals(2, report.get("key_version").asInt());
    for (String field :
        List.of(
            "signing_address",
            "signing_algo",
            "request_nonce",
            "intel_quote",
            "nvidia_payload",
            "event_log",
            "info")) {
      assertTrue(report.has(field), field);
    }
  }

  @Test
  void anUnknownSigningAddressIs404AndAnUnsupportedAlgorithmIs400() throws Exception {
    for (String address :
        List.of("0x" + "12".repeat(20), "12".repeat(32), "not-an-address", "0x")) {
      HttpResponse<byte[]> r =
          send(proxyAfter, "GET", "/v1/attestation/report?signing_address=" + address, null, null);
      assertEquals(404, r.statusCode(), address);
      assertFalse(new String(r.body(), StandardCharsets.UTF_8).contains("Exception"));
    }
    // an Ed25519 signer asked for as ECDSA (and the reverse) is not ours either
    assertEquals(
        404,
        send(
                proxyAfter,
                "GET",
                "/v1/attestation/report?signing_algo=ecdsa&signing_address="
                    + signerAfter.find("ed25519", null).orElseThrow().address(),
                null,
                null)
            .statusCode());
    for (String algo : List.of("rsa", "ECDSA", "secp256k1", "")) {
      HttpResponse<byte[]> r =
          send(proxyAfter, "GET", "/v1/attestation/report?signing_algo=" + algo, null, null);
      assertEquals(400, r.statusCode(), algo);
      assertEquals(
          "unsupported signing_algo; this proxy signs with ecdsa or ed25519",
          json(r).at("/error/message").asText());
      assertEquals(
          400,
          send(proxyAfter, "GET", "/v1/signature/any?signing_algo=" + algo, null, TOKEN)
              .statusCode(),
          algo);
    }
    JsonNode ed =
        json(send(proxyAfter, "GET", "/v1/attestation/report?signing_algo=ed25519", null, null));
    assertEquals("ed25519", ed.get("signing_algo").asText());
    assertEquals(64, ed.get("signing_address").asText().length());
  }

  @Test
  void aSignatureMadeBeforeTheRotationStaysCheckableAgainstAFreshReport() throws Exception {
    assertEquals(1, before.keys().currentVersion());
    assertEquals(2, after.keys().currentVersion());
    assertNotEquals(
        signerBefore.address(), signerAfter.address(), "the rotation changed the signing key");
    Exchange x = chat(proxyBefore, "before the rotation");
    for (String algo : List.of("ecdsa", "ed25519")) {
      byte[] sig =
          send(proxyBefore, "GET", "/v1/signature/" + x.id() + "?signing_algo=" + algo, null, TOKEN)
              .body();
      String signer = JSON.readTree(sig).get("signing_address").asText();
      byte[] nonce = nonce(algo.length());
      HttpResponse<byte[]> r =
          send(
              proxyAfter,
              "GET",
              "/v1/attestation/report?signing_algo="
                  + algo
                  + "&signing_address="
                  + signer
                  + "&nonce="
                  + HexFormat.of().formatHex(nonce),
              null,
              null);
      assertEquals(200, r.statusCode(), algo + ": " + new String(r.body(), StandardCharsets.UTF_8));
      assertEquals(signer, json(r).get("signing_address").asText());
      assertEquals(1, json(r).get("key_version").asInt());
      ProxyVerdicts.Verdict v =
          verifier(nonce, true).verify(r.body(), sig, x.request(), x.response());
      assertTrue(v.valid(), algo + ": " + v.details().toPrettyString());
      // the current report names the new signer: the old signature does not check against it
      byte[] current =
          send(
                  proxyAfter,
                  "GET",
                  "/v1/attestation/report?signing_algo="
                      + algo
                      + "&nonce="
                      + HexFormat.of().formatHex(nonce),
                  null,
                  null)
              .body();
      assertEquals(
          "SIGNER_MISMATCH",
          verifier(nonce, true).verify(current, sig, x.request(), x.response()).failure(),
          algo);
    }
    // ECDSA addresses are matched by value: any hex case
    assertEquals(
        200,
        send(
                proxyAfter,
                "GET",
                "/v1/attestation/report?signing_address="
                    + signerBefore.address().toLowerCase(java.util.Locale.ROOT),
                null,
                null)
            .statusCode());
  }

  @Test
  void theModelCommittingTextIsVerifiedAndATamperedModelIdRefused() throws Exception {
    Exchange x = chat(proxyAfter, "which model are you?");
    ObjectNode sig =
        (ObjectNode) json(send(proxyAfter, "GET", "/v1/signature/" + x.id(), null, TOKEN));
    assertEquals(
        SignedText.modelTextOfBodies("demo", x.request(), x.response()), sig.get("text").asText());
    byte[] nonce = nonce(7);
    byte[] report =
        send(
                proxyAfter,
                "GET",
                "/v1/attestation/report?nonce=" + HexFormat.of().formatHex(nonce),
                null,
                null)
            .body();
    ProxyVerdicts.Verdict ok =
        verifier(nonce, true)
            .verify(report, JSON.writeValueAsBytes(sig), x.request(), x.response());
    assertTrue(ok.valid(), ok.details().toPrettyString());
    assertEquals(
        "TEXT_FORMAT_NOT_ACCEPTED",
        verifier(nonce, false)
            .verify(report, JSON.writeValueAsBytes(sig), x.request(), x.response())
            .failure(),
        "no endpoint is bound: accepted only when asked");
    ObjectNode tampered = sig.deepCopy();
    tampered.put("text", "gpt-5" + sig.get("text").asText().substring("demo".length()));
    ProxyVerdicts.Verdict bad =
        verifier(nonce, true)
            .verify(report, JSON.writeValueAsBytes(tampered), x.request(), x.response());
    assertEquals("MODEL_MISMATCH", bad.failure(), bad.details().toPrettyString());
    ObjectNode otherKind = sig.deepCopy();
    otherKind.put("signature_kind", "gateway_tee");
    assertEquals(
        "SIGNATURE_KIND_UNSUPPORTED",
        verifier(nonce, true)
            .verify(report, JSON.writeValueAsBytes(otherKind), x.request(), x.response())
            .failure());
    // A request the proxy cannot commit to a model for is refused before it reaches the model.
    int before = upstream.received.size();
    HttpResponse<byte[]> noModel =
        send(
            proxyAfter,
            "POST",
            "/v1/chat/completions",
            "{\"messages\":[]}".getBytes(StandardCharsets.UTF_8),
            TOKEN);
    assertEquals(400, noModel.statusCode());
    assertEquals(before, upstream.received.size());
  }
}
