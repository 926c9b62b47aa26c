package org.teekms.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.agent.proxy.AttestationReporter;
import org.teekms.agent.proxy.ResponseSigner;
import org.teekms.agent.proxy.SignedResponse;
import org.teekms.attest.gpu.GpuDevices;
import org.teekms.attest.gpu.GpuSimulator;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.cli.demo.DemoExchange;
import org.teekms.cli.demo.DemoExchangeFixture;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.VersionRef;
import org.teekms.verifier.NvidiaPayload;
import org.teekms.verifier.SignedText;

/**
 * A signed exchange: either the demo's own ({@link #fromDemo}), or (for the CLI's format tests) a
 * chat exchange signed and attested exactly as the guest agent's proxy does it, by a simulated CVM
 * (simulated TDX, one simulated GPU measured at boot) of app {@code appId} running {@code compose}
 * on OS image {@code osImage}; the files a user would hold, written to a folder, plus the trust
 * roots and simulated collateral to check them with.
 */
record SignedExchange(
    Path report,
    Path signature,
    Path request,
    Path response,
    Path collateral,
    Path rootCa,
    Path gpuRoot,
    Path rims,
    Path rimRoot,
    byte[] nonce,
    byte[] mrSystem,
    byte[] composeHash,
    GpuSimulator gpu,
    Path manifest) {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String COMPOSE = "{\"name\":\"llm\",\"runner\":\"docker-compose\"}";
  static final byte[] OS_IMAGE =
      org.teekms.crypto.Digests.sha256("tee-kms test OS image".getBytes(StandardCharsets.UTF_8));

  static SignedExchange create(Path dir, byte[] appId, String compose, byte[] osImage)
      throws Exception {
    return create(dir, appId, compose, osImage, null, SignedText.Format.V2, false);
  }

  /**
   * As above, from a CVM its host launched with this MRCONFIGID (null: dstack's 0x01 ‖ compose
   * hash).
   */
  static SignedExchange create(
      Path dir, byte[] appId, String compose, byte[] osImage, byte[] mrConfigId) throws Exception {
    return create(dir, appId, compose, osImage, mrConfigId, SignedText.Format.V2, false);
  }

  /** As above, in the signed-text format and report layout the NEAR AI verifiers read. */
  static SignedExchange create(
      Path dir,
      byte[] appId,
      String compose,
      byte[] osImage,
      SignedText.Format format,
      boolean nearLayout)
      throws Exception {
    return create(dir, appId, compose, osImage, null, format, nearLayout);
  }

  /**
   * @param mrConfigId the MRCONFIGID the host launched the CVM with (null: dstack's 0x01 ‖ compose
   *     hash)
   * @param format the signed text (near-model commits to the request's model, "demo")
   * @param nearLayout the report also carries all_attestations and model_attestations (one entry
   *     each, equal to the report) and the signature names its signature_kind, as the proxy serves
   *     them
   */
  static SignedExchange create(
      Path dir,
      byte[] appId,
      String compose,
      byte[] osImage,
      byte[] mrConfigId,
      SignedText.Format format,
      boolean nearLayout)
      throws Exception {
    Files.createDirectories(dir);
    SecureRandom rnd = new SecureRandom();
    byte[] nonce = new byte[32];
    rnd.nextBytes(nonce);
    KmsKeyDeriver kms = new KmsKeyDeriver(new RootKeyring(1, RootKeyring.generateRootSecret(rnd)));
    AppId app = AppId.fromHex(HexFormat.of().formatHex(appId));
    GpuSimulator gpu = GpuSimulator.create(1, rnd);
    byte[] composeHash = org.teekms.crypto.Digests.sha256(compose.getBytes(StandardCharsets.UTF_8));
    SimulatedCvm launched = SimulatedRaTls.TDX.newCvm(new byte[48], false);
    if (mrConfigId != null) {
      launched.launchWithMrConfigId(mrConfigId);
    }
    SimulatedCvm cvm =
        launched.boot(
            new SimulatedCvm.App(
                    Bytes.copyOf(appId),
                    Bytes.copyOf(composeHash),
                    Bytes.copyOf(new byte[20]),
                    "{\"name\":\"kms\",\"id\":\"" + "00".repeat(32) + "\"}",
                    Bytes.copyOf(osImage))
                .withGpuDevices(GpuDevices.digest(gpu.evidence(new byte[32]))));
    byte[] request =
        "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"2+2?\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    byte[] response =
        "{\"id\":\"chatcmpl-1\",\"choices\":[{\"message\":{\"content\":\"4\"}}]}\n"
            .getBytes(StandardCharsets.UTF_8);
    Path report;
    Path sig;
    try (ResponseSigner signer =
        new ResponseSigner(
            new AppKeyDeriver(
                    kms.appRootSecret(new VersionRef(1, app, 1), KeyVersionPolicy.initial()))
                .signingKey(KeyAlgorithm.SECP256K1, AgentKeys.RESPONSE_SIGNING_PATH),
            format)) {
      SignedResponse s =
          signer.sign(
              new SignedText.Endpoint("POST", "/v1/chat/completions"),
              "demo",
              SignedText.sha256(request),
              SignedText.sha256(response));
      RuntimeEventLog.QuoteWithLog q =
          cvm.eventLog().quote(cvm, AttestationReporter.reportData(signer.addressBytes(), nonce));
      ObjectNode r = JSON.createObjectNode();
      r.put("signing_address", signer.address());
      r.put("signing_algo", "ecdsa");
      r.put("request_nonce", HexFormat.of().formatHex(nonce));
      r.put("intel_quote", HexFormat.of().formatHex(q.quote().toByteArray()));
      r.put("nvidia_payload", new NvidiaPayload(Bytes.copyOf(nonce), gpu.evidence(nonce)).encode());
      r.put("event_log", q.eventLogJson());
      r.putObject("info");
      if (nearLayout) {
        ObjectNode attestation = r.deepCopy();
        r.putArray("all_attestations").add(attestation);
        r.putArray("model_attestations").add(attestation.deepCopy());
      }
      report =
          Files.write(
              dir.resolve("report.json"),
              JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(r));
      ObjectNode sj = JSON.createObjectNode();
      sj.put("text", s.text());
      sj.put("signature", s.signature());
      sj.put("signing_address", s.signingAddress());
      sj.put("signing_algo", s.signingAlgo());
      if (nearLayout) {
        sj.put("signature_kind", SignedText.SIGNATURE_KIND);
      }
      sig = Files.write(dir.resolve("sig.json"), JSON.writeValueAsBytes(sj));
    }
    Path rims = dir.resolve("rims");
    gpu.writeRims(rims);
    return new SignedExchange(
        report,
        sig,
        Files.write(dir.resolve("req.json"), request),
        Files.write(dir.resolve("resp.json"), response),
        SimulatedRaTls.TDX.collateral().writeTo(dir.resolve("collateral")),
        Files.writeString(dir.resolve("root.pem"), SimulatedRaTls.TDX.rootCertificatePem()),
        Files.writeString(dir.resolve("gpu-root.pem"), pem(gpu.deviceRoot())),
        rims,
        Files.writeString(dir.resolve("rim-root.pem"), pem(gpu.rimRoot())),
        nonce,
        cvm.mrSystem(),
        composeHash,
        gpu,
        null);
  }

  /**
   * The demo's own signed exchange ({@link DemoExchangeFixture}: the demo's CVM and signing proxy,
   * and its chat step, which writes the files and {@link #manifest}, the demo's {@value
   * DemoExchange#FILE}), answered by a CVM of app {@code app} whose policy a verifier reads from
   * {@code rpcUrl}/{@code registry}. Allow {@link #composeHash}, {@link
   * DemoExchangeFixture#OS_IMAGE} and {@link #mrSystem} on chain before verifying it.
   */
  static SignedExchange fromDemo(Path dir, String app, String rpcUrl, long chainId, String registry)
      throws Exception {
    DemoExchangeFixture.Made m = DemoExchangeFixture.make(dir, app, rpcUrl, chainId, registry, 1);
    DemoExchange.Saved s = m.saved();
    return new SignedExchange(
        s.report(),
        s.signature(),
        s.request(),
        s.response(),
        s.collateral(),
        s.rootCa(),
        s.gpuRoot(),
        s.rims(),
        s.rimRoot(),
        s.nonce().toByteArray(),
        m.mrSystem(),
        m.composeHash(),
        m.gpus(),
        s.manifest());
  }

  /** The response with one character of the model's answer changed (still valid UTF-8). */
  String responseWithOneByteChanged() throws Exception {
    String r = Files.readString(response);
    int at = r.indexOf("\"content\":\"") + "\"content\":\"".length();
    if (at < "\"content\":\"".length() || at >= r.length()) {
      throw new IllegalStateException("the response has no message content");
    }
    char c = r.charAt(at) == 'a' ? 'b' : 'a';
    return r.substring(0, at) + c + r.substring(at + 1);
  }

  /** The demo's signed-exchange.json with {@code field} replaced by {@code value} (a string). */
  String manifestWith(String field, String value) throws Exception {
    ObjectNode m = (ObjectNode) JSON.readTree(Files.readAllBytes(manifest));
    m.put(field, value);
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(m);
  }

  /** The files and trust roots, without any expected identity. */
  java.util.List<String> args() {
    return java.util.List.of(
        "verify",
        "response",
        "--report",
        report.toString(),
        "--signature",
        signature.toString(),
        "--request",
        request.toString(),
        "--response",
        response.toString(),
        "--collateral",
        collateral.toString(),
        "--root-ca",
        rootCa.toString(),
        "--gpu-root",
        gpuRoot.toString(),
        "--rims",
        rims.toString(),
        "--rim-root",
        rimRoot.toString(),
        "--no-ocsp");
  }

  /**
   * Replaces the report's nvidia_payload with GPU evidence made for {@code evidenceNonce}, labelled
   * {@code label}.
   */
  void replaceGpuEvidence(byte[] label, byte[] evidenceNonce) throws Exception {
    String payload = new NvidiaPayload(Bytes.copyOf(label), gpu.evidence(evidenceNonce)).encode();
    Files.writeString(report, editedReport(r -> r.put("nvidia_payload", payload)));
  }

  /**
   * The report with {@code edit} applied to it and to each copy of it in {@code all_attestations}
   * and {@code model_attestations} (as the proxy serves it), as a careful forger edits it: a report
   * whose copies disagree is refused before the edited evidence is even looked at.
   */
  String editedReport(java.util.function.Consumer<ObjectNode> edit) throws Exception {
    ObjectNode r = (ObjectNode) JSON.readTree(Files.readAllBytes(report));
    edit.accept(r);
    for (String copies : java.util.List.of("all_attestations", "model_attestations")) {
      for (com.fasterxml.jackson.databind.JsonNode c : r.path(copies)) {
        if (c instanceof ObjectNode o) {
          edit.accept(o);
        }
      }
    }
    return JSON.writeValueAsString(r);
  }

  /**
   * The signature file with one hex digit of the signature changed (the text and signer left as
   * they were).
   */
  String signatureWithOneDigitChanged() throws Exception {
    ObjectNode s = (ObjectNode) JSON.readTree(Files.readAllBytes(signature));
    String good = s.get("signature").asText();
    char last = good.charAt(good.length() - 3);
    s.put(
        "signature",
        good.substring(0, good.length() - 3)
            + (last == '0' ? '1' : '0')
            + good.substring(good.length() - 2));
    return JSON.writeValueAsString(s);
  }

  /**
   * The report with one REPORTDATA byte of its quote flipped: the quote's signature no longer
   * verifies.
   */
  String reportWithTamperedQuote() throws Exception {
    return editedReport(
        r -> {
          byte[] quote = HexFormat.of().parseHex(r.get("intel_quote").asText());
          quote[48 + 520] ^= 0x01;
          r.put("intel_quote", HexFormat.of().formatHex(quote));
        });
  }

  /**
   * The report with GPU evidence this CVM's GPUs made for {@code other} (a replay), labelled with
   * that nonce.
   */
  String reportWithGpuEvidenceFor(byte[] other) throws Exception {
    String payload = new NvidiaPayload(Bytes.copyOf(other), gpu.evidence(other)).encode();
    return editedReport(r -> r.put("nvidia_payload", payload));
  }

  static String pem(java.security.cert.X509Certificate c) throws Exception {
    return "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(c.getEncoded())
        + "\n-----END CERTIFICATE-----\n";
  }
}
