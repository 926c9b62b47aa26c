package org.teekms.cli;

import org.teekms.keys.VersionRef;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.agent.proxy.AttestationReporter;
import org.teekms.agent.proxy.ResponseSigner;
import org.teekms.agent.proxy.SignedResponse;
import org.teekms.verifier.NvidiaPayload;
import org.teekms.verifier.SignedText;
import org.teekms.attest.gpu.GpuSimulator;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import picocli.CommandLine;

/**
 * {@code teekms verify response} on an exchange signed and attested exactly as the guest agent's proxy does it
 * (simulated TDX and GPU; the proxy itself is tested end to end in guest-agent's SigningProxyTest).
 */
class VerifyResponseCommandTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String COMPOSE = "{\"name\":\"llm\",\"runner\":\"docker-compose\"}";
  @TempDir Path dir;
  Path report;
  Path sig;
  Path nearSig;
  Path req;
  Path resp;
  Path compose;
  byte[] nonce = new byte[32];
  List<String> common;

  record Run(int exit, JsonNode json, String err) {}

  static Run run(List<String> args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cmd = TeeKmsCli.newCommandLine();
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    int exit = cmd.execute(args.toArray(new String[0]));
    return new Run(exit, exit == 2 ? null : JSON.readTree(out.toString()), err.toString());
  }

  Path pem(String name, X509Certificate c) throws Exception {
    return Files.writeString(dir.resolve(name), "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(c.getEncoded())
        + "\n-----END CERTIFICATE-----\n");
  }

  @BeforeEach
  void exchange() throws Exception {
    SecureRandom rnd = new SecureRandom();
    rnd.nextBytes(nonce);
    SimulatedCvm cvm = SimulatedRaTls.cvm(COMPOSE, false);
    KmsKeyDeriver kms = new KmsKeyDeriver(new RootKeyring(1, RootKeyring.generateRootSecret(rnd)));
    AppId app = AppId.fromHex("42".repeat(20));
    GpuSimulator gpu = GpuSimulator.create(1, rnd);
    byte[] request = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"2+2?\"}]}"
        .getBytes(StandardCharsets.UTF_8);
    byte[] response = "{\"id\":\"chatcmpl-1\",\"choices\":[{\"message\":{\"content\":\"4\"}}]}\n"
        .getBytes(StandardCharsets.UTF_8);
    try (ResponseSigner signer = new ResponseSigner(new AppKeyDeriver(kms.appRootSecret(new VersionRef(1, app, 1),
        KeyVersionPolicy.initial())).signingKey(KeyAlgorithm.SECP256K1, AgentKeys.RESPONSE_SIGNING_PATH))) {
      SignedResponse s = signer.sign(new SignedText.Endpoint("POST", "/v1/chat/completions"),
          SignedText.sha256(request), SignedText.sha256(response));
      ObjectNode sj = signatureJson(s);
      try (ResponseSigner near = new ResponseSigner(new AppKeyDeriver(kms.appRootSecret(new VersionRef(1, app, 1),
          KeyVersionPolicy.initial())).signingKey(KeyAlgorithm.SECP256K1, AgentKeys.RESPONSE_SIGNING_PATH),
          SignedText.Format.NEAR)) {
        nearSig = Files.write(dir.resolve("near-sig.json"), JSON.writeValueAsBytes(signatureJson(near.sign(
            new SignedText.Endpoint("POST", "/v1/chat/completions"), SignedText.sha256(request),
            SignedText.sha256(response)))));
      }
      RuntimeEventLog.QuoteWithLog q = cvm.eventLog().quote(cvm,
          AttestationReporter.reportData(signer.addressBytes(), nonce));
      ObjectNode r = JSON.createObjectNode();
      r.put("signing_address", signer.address());
      r.put("signing_algo", "ecdsa");
      r.put("request_nonce", HexFormat.of().formatHex(nonce));
      r.put("intel_quote", HexFormat.of().formatHex(q.quote()));
      r.put("nvidia_payload", new NvidiaPayload(nonce, gpu.evidence(nonce)).encode());
      r.put("event_log", q.eventLogJson());
      r.putObject("info");
      report = Files.write(dir.resolve("report.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(r));
      sig = Files.write(dir.resolve("sig.json"), JSON.writeValueAsBytes(sj));
    }
    req = Files.write(dir.resolve("req.json"), request);
    resp = Files.write(dir.resolve("resp.json"), response);
    compose = Files.writeString(dir.resolve("app-compose.json"), COMPOSE);
    Path collateral = SimulatedRaTls.TDX.collateral().writeTo(dir.resolve("collateral"));
    Path root = Files.writeString(dir.resolve("root.pem"), SimulatedRaTls.TDX.rootCertificatePem());
    common = List.of("verify", "response", "--report", report.toString(), "--signature", sig.toString(),
        "--request", req.toString(), "--response", resp.toString(), "--collateral", collateral.toString(),
        "--root-ca", root.toString(), "--gpu-root", pem("gpu-root.pem", gpu.deviceRoot()).toString(), "--no-ocsp",
        "--require-gpu", "--mr-system", HexFormat.of().formatHex(cvm.mrSystem()));
  }

  @Test
  void aResponseFromAnUnprovenOsIsNotValid() throws Exception {
    List<String> args = new ArrayList<>(with("--compose", compose.toString()));
    int i = args.indexOf("--mr-system");
    String golden = args.get(i + 1);
    args.subList(i, i + 2).clear();
    Run none = run(args);
    assertEquals(1, none.exit());
    assertEquals("OS_IMAGE_NOT_PROVEN", none.json().get("failure").asText());
    assertEquals(golden, none.json().at("/osMeasurement/mrSystem").asText());
    args.addAll(List.of("--mr-system", "ab".repeat(32)));
    Run other = run(args);
    assertEquals(1, other.exit());
    assertEquals("OS_IMAGE_MEASUREMENT_MISMATCH", other.json().get("failure").asText());
    args.addAll(List.of("--mr-system", golden));
    assertEquals(0, run(args).exit(), "any one of several golden values");
  }

  List<String> with(String... more) {
    List<String> a = new ArrayList<>(common);
    a.addAll(List.of(more));
    return a;
  }

  static ObjectNode signatureJson(SignedResponse s) {
    ObjectNode sj = JSON.createObjectNode();
    sj.put("text", s.text());
    sj.put("signature", s.signature());
    sj.put("signing_address", s.signingAddress());
    sj.put("signing_algo", s.signingAlgo());
    return sj;
  }

  /** The signature was made for POST /v1/chat/completions: presented as another endpoint's answer, it is refused. */
  @Test
  void rejectsASignatureReplayedOnAnotherEndpoint() throws Exception {
    assertEquals(0, run(with("--path", "/v1/chat/completions", "--method", "POST")).exit());
    String[][] others = {{"POST", "/v1/completions"}, {"POST", "/v1/chat/completions?stream=true"},
        {"PUT", "/v1/chat/completions"}};
    for (String[] o : others) {
      Run r = run(with("--method", o[0], "--path", o[1]));
      assertEquals(1, r.exit(), String.join(" ", o));
      assertEquals("ENDPOINT_MISMATCH", r.json().get("failure").asText());
      assertEquals("the response was signed for POST /v1/chat/completions, presented for " + o[0] + " " + o[1],
          r.json().get("error").asText());
      assertEquals("POST /v1/chat/completions", r.json().at("/signature/signedEndpoint").asText());
    }
    Run bad = run(with("--path", "no-slash"));
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("--method/--path: request-target must be"), bad.err());
  }

  /** The NEAR-compatible text binds no endpoint: refused unless asked for, then checked like before. */
  @Test
  void theNearCompatibleTextIsAcceptedOnlyWhenAskedFor() throws Exception {
    List<String> args = new ArrayList<>(common);
    args.set(args.indexOf(sig.toString()), nearSig.toString());
    Run refused = run(args);
    assertEquals(1, refused.exit());
    assertEquals("TEXT_FORMAT_NOT_ACCEPTED", refused.json().get("failure").asText());
    args.add("--accept-near-text");
    Run accepted = run(args);
    assertEquals(0, accepted.exit(), accepted.json().toPrettyString());
    assertEquals("near", accepted.json().at("/signature/format").asText());
    args.addAll(List.of("--path", "/v1/completions"));
    assertEquals(0, run(args).exit(), "the NEAR text cannot tell endpoints apart: that is what it does not cover");
  }

  @Test
  void acceptsTheSignedExchange() throws Exception {
    Run r = run(with("--compose", compose.toString(), "--nonce", HexFormat.of().formatHex(nonce)));
    assertEquals(0, r.exit(), r.err() + r.json());
    JsonNode j = r.json();
    assertTrue(j.get("valid").asBoolean());
    assertTrue(j.at("/signature/valid").asBoolean());
    assertTrue(j.at("/quote/bindsAddressAndNonce").asBoolean());
    assertTrue(j.at("/eventLog/replayed").asBoolean());
    assertTrue(j.at("/eventLog/composeHashChecked").asBoolean());
    assertTrue(j.at("/gpu/valid").asBoolean());
  }

  @Test
  void rejectsAnyEditedByteOfTheExchange() throws Exception {
    List<String> args = with("--compose", compose.toString());
    for (Path file : List.of(req, resp)) {
      byte[] original = Files.readAllBytes(file);
      for (int i = 0; i < original.length; i++) {
        byte[] edited = original.clone();
        edited[i] ^= 0x20;
        Files.write(file, edited);
        Run r = run(args);
        assertEquals(1, r.exit(), file + " byte " + i);
        assertEquals("TEXT_MISMATCH", r.json().get("failure").asText());
      }
      Files.write(file, original);
    }
    assertEquals(0, run(args).exit());
  }

  @Test
  void rejectsAnotherComposeNonceOrSignerAndReportsUsageErrors() throws Exception {
    Run c = run(with("--compose-hash", "00".repeat(32)));
    assertEquals(1, c.exit());
    assertEquals("COMPOSE_HASH_MISMATCH", c.json().get("failure").asText());
    Run n = run(with("--nonce", "11".repeat(32)));
    assertEquals(1, n.exit());
    assertEquals("NONCE_MISMATCH", n.json().get("failure").asText());
    ObjectNode s = (ObjectNode) JSON.readTree(Files.readAllBytes(sig));
    s.put("signing_address", "0x" + "12".repeat(20));
    Files.write(sig, JSON.writeValueAsBytes(s));
    Run w = run(common);
    assertEquals(1, w.exit());
    assertEquals("SIGNATURE_INVALID", w.json().get("failure").asText());
    Files.writeString(report, "{not json");
    assertEquals("MALFORMED_INPUT", run(common).json().get("failure").asText());
    assertEquals(2, run(with("--nonce", "zz")).exit());
    assertEquals(2, run(List.of("verify", "response", "--report", report.toString())).exit());
    assertFalse(run(with("--compose", compose.toString(), "--compose-hash", "00".repeat(32))).exit() == 0);
  }
}
