package org.teekms.verifier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.teekms.attest.eventlog.BootIdentity;
import org.teekms.attest.eventlog.EventLogCheck;
import org.teekms.attest.eventlog.MrConfigId;
import org.teekms.attest.gpu.GpuAttestationException;
import org.teekms.attest.gpu.GpuDevices;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.MrSystem;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.Bytes;
import org.teekms.keys.EthereumAddress;

/**
 * Judges a signed inference response against an {@link ExpectedIdentity}: the one code path of
 * {@code teekms verify response}, the verifier service's {@code POST /verify/response} and its web
 * page. The checks, in this order (each is a row of the {@link Result}; the first failure is the
 * reason; a row that cannot run because an earlier one failed is SKIP):
 *
 * <ol>
 *   <li><b>signature</b>: the signed text is the v2 text of the given endpoint (method and
 *       request-target) and bodies ({@code ENDPOINT_MISMATCH}, {@code TEXT_MISMATCH}; the
 *       NEAR-compatible texts only when accepted, {@code TEXT_FORMAT_NOT_ACCEPTED}: {@code
 *       sha256(request):sha256(response)}, or {@code model:sha256(request):sha256(response)} whose
 *       model must be the request's {@code model} field, {@code MODEL_MISMATCH}); a {@code
 *       signature_kind}, when given, is {@code provider_tee} ({@code SIGNATURE_KIND_UNSUPPORTED});
 *       the {@code ecdsa} signature recovers to, or the {@code ed25519} signature verifies under,
 *       its {@code signing_address} ({@code SIGNATURE_INVALID}); unparseable input is {@code
 *       MALFORMED_INPUT};
 *   <li><b>signing address</b>: the attestation report attests that same signer, itself or in a
 *       {@code model_attestations} entry, and no entry of {@code all_attestations}/{@code
 *       model_attestations} naming it differs ({@link ReportAttestations}; {@code SIGNER_MISMATCH},
 *       {@code MALFORMED_REPORT}); the rows below judge that attestation;
 *   <li><b>quote REPORTDATA</b>: the quote verifies with DCAP ({@code QUOTE_INVALID}), the nonce is
 *       well formed and, when expected, the expected one ({@code MALFORMED_REPORT}, {@code
 *       NONCE_MISMATCH}), and REPORTDATA is the address padded to 32 bytes followed by the nonce
 *       ({@code REPORT_DATA_MISMATCH});
 *   <li><b>TCB status</b>: the TCB status, advisories and TD attributes are accepted ({@code
 *       TCB_NOT_ALLOWED});
 *   <li><b>OS image measurements</b>: the event log replays to the quote ({@code
 *       EVENT_LOG_INVALID}); the OS image it names is allowed ({@code OS_IMAGE_NOT_ALLOWED}) and
 *       the quote's hardware-measured mrSystem is a golden value of that image ({@code
 *       OS_IMAGE_MEASUREMENT_MISMATCH}): only then is the app identity the OS wrote into RTMR3
 *       worth anything;
 *   <li><b>compose hash</b> (on chain): the CVM belongs to the expected app ({@code
 *       APP_ID_MISMATCH}), the app is registered and enabled ({@code APP_NOT_ALLOWED}) and its
 *       compose hash is allowed ({@code COMPOSE_HASH_NOT_ALLOWED});
 *   <li><b>GPUs</b>: GPU evidence is present when required ({@code GPU_EVIDENCE_MISSING}), answers
 *       the report's nonce ({@code GPU_NONCE_MISMATCH}), comes from the GPUs the CVM measured at
 *       boot ({@code GPU_DEVICE_CHANGED}), verifies to the GPU root ({@code GPU_EVIDENCE_INVALID},
 *       {@code GPU_EVIDENCE_UNCHECKED} without a root), its measurements match the RIMs when
 *       required ({@code GPU_RIMS_NOT_CHECKED}) and it meets the GPU policy ({@code GPU_POLICY}).
 * </ol>
 *
 * Rows 4-7 fail with {@code POLICY_UNAVAILABLE} when the expected identity could not be
 * established. Never throws for bad input.
 */
public final class ResponseVerification {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final HexFormat HEX = HexFormat.of();

  public static final String SIGNATURE = "signature";
  public static final String SIGNING_ADDRESS = "signing address";
  public static final String REPORT_DATA = "quote REPORTDATA";
  public static final String TCB = "TCB status";
  public static final String OS_IMAGE = "OS image measurements";
  public static final String COMPOSE = "compose hash";
  public static final String COMPOSE_ON_CHAIN = "compose hash (on chain)";
  public static final String GPUS = "GPUs";

  /**
   * How to check. {@code gpu} null: GPU evidence cannot be checked (then it must be absent and not
   * required). {@code endpoint}: the method and request-target the response was obtained from (what
   * a v2 text must name).
   */
  public record Settings(
      DcapQuoteVerifier dcap,
      CollateralSource collateral,
      Instant at,
      GpuEvidenceVerifier gpu,
      SignedText.Endpoint endpoint,
      boolean acceptNearText,
      Optional<Bytes> expectedNonce) {
    public Settings {
      Objects.requireNonNull(dcap, "dcap");
      Objects.requireNonNull(collateral, "collateral");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(endpoint, "endpoint");
      Objects.requireNonNull(expectedNonce, "expectedNonce");
    }
  }

  /**
   * The rows in order, the facts found, and who was expected. Valid exactly when every row passed.
   */
  public record Result(List<Check> checks, ObjectNode facts, String expected) {
    public Result {
      checks = List.copyOf(checks);
    }

    public boolean valid() {
      return checks.stream().allMatch(Check::passed);
    }

    /** The first failed row: the reason. */
    public Optional<Check> failure() {
      return checks.stream().filter(c -> c.status() == Check.Status.FAIL).findFirst();
    }

    /**
     * {@code {"valid", "failure", "error", "failedCheck", "expected", "checks": [...], "facts":
     * {...}}}.
     */
    public ObjectNode toJson() {
      ObjectNode o = JSON.createObjectNode();
      o.put("valid", valid());
      Optional<Check> f = failure();
      o.put("failure", f.map(Check::code).orElse(null));
      o.put("error", f.map(Check::detail).orElse(null));
      o.put("failedCheck", f.map(Check::name).orElse(null));
      o.put("expected", expected);
      ArrayNode rows = o.putArray("checks");
      for (Check c : checks) {
        ObjectNode r = rows.addObject();
        r.put("name", c.name());
        r.put("status", c.status().name());
        r.put("code", c.code());
        r.put("detail", c.detail());
      }
      o.set("facts", facts);
      return o;
    }
  }

  private final Settings s;

  public ResponseVerification(Settings settings) {
    this.s = Objects.requireNonNull(settings, "settings");
  }

  public Result verify(
      ExpectedIdentity expected,
      byte[] reportJson,
      byte[] signatureJson,
      byte[] request,
      byte[] response) {
    Run r = new Run(expected);
    r.run(
        reportJson,
        signatureJson,
        request == null ? new byte[0] : request,
        response == null ? new byte[0] : response);
    return new Result(r.checks, r.facts, expected.source());
  }

  /** One verification's state: the rows so far and the facts established. */
  private final class Run {
    final ExpectedIdentity id;
    final List<Check> checks = new ArrayList<>();
    final ObjectNode facts = JSON.createObjectNode();
    Optional<SignerIdentity> signer = Optional.empty();
    JsonNode report;
    byte[] nonce;
    QuoteVerificationResult quote;
    BootIdentity boot;
    boolean bootChecked;

    Run(ExpectedIdentity id) {
      this.id = id;
    }

    void run(byte[] reportJson, byte[] signatureJson, byte[] request, byte[] response) {
      report = object(reportJson);
      JsonNode sig = object(signatureJson);
      checks.add(signature(sig, request, response));
      checks.add(signingAddress(sig));
      checks.add(reportData());
      checks.add(tcb());
      checks.add(osImage());
      checks.add(compose());
      checks.add(gpus());
    }

    Check signature(JsonNode sig, byte[] request, byte[] response) {
      if (sig == null) {
        return Check.fail(SIGNATURE, "MALFORMED_INPUT", "the signature is not a JSON object");
      }
      String text = sig.path("text").asText("");
      boolean v2 = text.startsWith(SignedText.V2_TAG + " ");
      Optional<SignedText.ModelText> modelText =
          v2 ? Optional.empty() : SignedText.modelTextOf(text);
      Optional<String> requestModel = SignedText.modelOfRequest(request);
      String expectedText =
          v2
              ? SignedText.textOfBodies(s.endpoint(), request, response)
              : modelText.isPresent()
                  ? SignedText.text(SignedText.sha256(request), SignedText.sha256(response))
                  : SignedText.textOfBodies(request, response);
      if (modelText.isPresent() && requestModel.filter(SignedText::validModelId).isPresent()) {
        expectedText = SignedText.modelTextOfBodies(requestModel.get(), request, response);
      }
      boolean matches =
          MessageDigest.isEqual(
              text.getBytes(StandardCharsets.UTF_8), expectedText.getBytes(StandardCharsets.UTF_8));
      ObjectNode so = facts.putObject("signature");
      so.put("format", v2 ? SignedText.V2_TAG : modelText.isPresent() ? "near-model" : "near");
      so.put("signedText", clip(text, 400));
      so.put("expectedText", clip(expectedText, 400));
      if (v2) {
        Optional<SignedText.Endpoint> signedFor = SignedText.endpointOf(text);
        so.put("signedEndpoint", signedFor.map(e -> clip(e.toString(), 200)).orElse(null));
        if (signedFor.isPresent() && !signedFor.get().equals(s.endpoint())) {
          return Check.fail(
              SIGNATURE,
              "ENDPOINT_MISMATCH",
              "the response was signed for "
                  + clip(signedFor.get().toString(), 200)
                  + ", presented for "
                  + clip(s.endpoint().toString(), 200));
        }
        if (!matches) {
          return Check.fail(
              SIGNATURE,
              "TEXT_MISMATCH",
              "the signed text is not "
                  + SignedText.V2_TAG
                  + " "
                  + clip(s.endpoint().toString(), 200)
                  + " sha256(request):sha256(response) of the given request and "
                  + "response: a byte differs");
        }
      } else if (!s.acceptNearText()) {
        return Check.fail(
            SIGNATURE,
            "TEXT_FORMAT_NOT_ACCEPTED",
            "the signed text is the NEAR-compatible "
                + (modelText.isPresent() ? "model:" : "")
                + "sha256(request):sha256(response), which binds no method, "
                + "path or query (accept it explicitly)");
      } else if (modelText.isPresent()) {
        so.put("signedModel", clip(modelText.get().model(), 256));
        so.put("requestModel", requestModel.map(m -> clip(m, 256)).orElse(null));
        if (requestModel.isEmpty()) {
          return Check.fail(
              SIGNATURE,
              "MODEL_MISMATCH",
              "the signed text commits to model "
                  + clip(modelText.get().model(), 200)
                  + ", but the request names no model");
        }
        String hashes = SignedText.text(SignedText.sha256(request), SignedText.sha256(response));
        if (!text.endsWith(":" + hashes)) {
          return Check.fail(
              SIGNATURE,
              "TEXT_MISMATCH",
              "the signed text is not model:sha256(request):"
                  + "sha256(response) of the given request and response: a byte differs");
        }
        if (!matches) {
          return Check.fail(
              SIGNATURE,
              "MODEL_MISMATCH",
              "the signed text commits to model "
                  + clip(modelText.get().model(), 200)
                  + ", the request asked for "
                  + clip(requestModel.get(), 200));
        }
      } else if (!matches) {
        return Check.fail(
            SIGNATURE,
            "TEXT_MISMATCH",
            "the signed text is not sha256(request):sha256(response) of the "
                + "given request and response: a byte differs");
      }
      JsonNode kind = sig.get("signature_kind");
      if (kind != null && !kind.isNull() && !SignedText.SIGNATURE_KIND.equals(kind.asText(""))) {
        return Check.fail(
            SIGNATURE,
            "SIGNATURE_KIND_UNSUPPORTED",
            "signature_kind "
                + clip(kind.asText(""), 64)
                + " is not "
                + SignedText.SIGNATURE_KIND
                + " (a signature by the provider's attested CVM)");
      }
      String algo = sig.path("signing_algo").asText("");
      Optional<SignerIdentity> claimed =
          SignerIdentity.parse(algo, sig.path("signing_address").asText(null));
      if (SignedText.SIGNING_ALGO.equals(algo)) {
        so.put(
            "recoveredAddress",
            SignedText.recover(text, sig.path("signature").asText(""))
                .map(EthereumAddress::toChecksumString)
                .orElse(null));
      }
      if (claimed.isEmpty() || !claimed.get().signed(text, sig.path("signature").asText(""))) {
        return Check.fail(
            SIGNATURE,
            "SIGNATURE_INVALID",
            "the "
                + clip(algo, 16)
                + " signature "
                + (SignedText.ED25519.equals(algo)
                    ? "does not verify under"
                    : "does not recover to")
                + " signing_address "
                + clip(sig.path("signing_address").asText(""), 66)
                + (SignedText.SIGNING_ALGO.equals(algo) || SignedText.ED25519.equals(algo)
                    ? ""
                    : " (signing_algo must be ecdsa or ed25519)"));
      }
      signer = claimed;
      return Check.pass(
          SIGNATURE,
          "signed text "
              + (v2
                  ? SignedText.V2_TAG + " " + clip(s.endpoint().toString(), 200)
                  : modelText.isPresent()
                      ? clip(modelText.get().model(), 200) + ":sha256(request):sha256(response)"
                      : "sha256(request):sha256(response)")
              + (SignedText.ED25519.equals(algo) ? " verifies under ed25519 key " : " recovers to ")
              + claimed.get().display());
    }

    Check signingAddress(JsonNode sig) {
      if (report == null) {
        return Check.fail(
            SIGNING_ADDRESS, "MALFORMED_INPUT", "the attestation report is not a JSON object");
      }
      Optional<SignerIdentity> attested = attestedSigner(report);
      facts.put("reportSigningAddress", attested.map(SignerIdentity::display).orElse(null));
      Optional<SignerIdentity> claimed =
          sig == null
              ? Optional.empty()
              : SignerIdentity.parse(
                  sig.path("signing_algo").asText(""), sig.path("signing_address").asText(null));
      if (attested.isEmpty() && !report.path(ReportAttestations.MODEL).isArray()) {
        return Check.fail(
            SIGNING_ADDRESS, "MALFORMED_REPORT", "the report's signing_address is not an address");
      }
      if (claimed.isEmpty()) {
        return Check.skip(SIGNING_ADDRESS, "the signature names no signing address");
      }
      ReportAttestations.Pick pick = ReportAttestations.pick(report, claimed.get());
      if (pick.attestation().isEmpty()) {
        return Check.fail(
            SIGNING_ADDRESS,
            pick.code(),
            "SIGNER_MISMATCH".equals(pick.code()) && attested.isPresent()
                ? "the report attests "
                    + attested.get().display()
                    + ", the response was signed by "
                    + claimed.get().display()
                : pick.problem());
      }
      boolean entry = !attested.equals(claimed);
      report = pick.attestation().get();
      facts.put("reportSigningAddress", claimed.get().display());
      return Check.pass(
          SIGNING_ADDRESS,
          "the report attests the signer "
              + claimed.get().display()
              + (entry ? " (in model_attestations)" : ""));
    }

    Check reportData() {
      if (report == null) {
        return Check.skip(REPORT_DATA, "no attestation report");
      }
      nonce = hex(report.path("request_nonce").asText(null), 32);
      facts.put("nonce", nonce == null ? null : HEX.formatHex(nonce));
      byte[] quoteBytes = hex(report.path("intel_quote").asText(null), -1);
      ObjectNode qo = facts.putObject("quote");
      if (quoteBytes == null) {
        return Check.fail(REPORT_DATA, "MALFORMED_REPORT", "intel_quote is not hex");
      }
      try {
        quote = s.dcap().verify(TdxQuote.parse(quoteBytes), s.collateral(), s.at());
      } catch (QuoteParseException | RuntimeException e) {
        return Check.fail(
            REPORT_DATA, "QUOTE_INVALID", "the quote does not parse: " + oneLine(e.getMessage()));
      }
      qo.put("valid", quote.valid());
      if (!quote.valid()) {
        qo.put("failure", quote.failure() == null ? null : quote.failure().name());
        Check c =
            Check.fail(
                REPORT_DATA,
                "QUOTE_INVALID",
                "the quote does not verify (DCAP): " + oneLine(quote.error()));
        quote = null;
        return c;
      }
      TdReport td = quote.td();
      byte[] rd = td.reportData().toByteArray();
      qo.put("reportData", HEX.formatHex(rd));
      qo.put("mrSystem", MrSystem.of(td).hex());
      if (nonce == null) {
        return Check.fail(REPORT_DATA, "MALFORMED_REPORT", "request_nonce must be 32 bytes of hex");
      }
      if (s.expectedNonce().isPresent()
          && !MessageDigest.isEqual(nonce, s.expectedNonce().get().toByteArray())) {
        return Check.fail(
            REPORT_DATA,
            "NONCE_MISMATCH",
            "the report answers nonce "
                + HEX.formatHex(nonce)
                + ", not the one you asked for ("
                + s.expectedNonce().get().hex()
                + ")");
      }
      Optional<SignerIdentity> attested = attestedSigner(report);
      if (attested.isEmpty() || !MessageDigest.isEqual(rd, attested.get().reportData(nonce))) {
        return Check.fail(
            REPORT_DATA,
            "REPORT_DATA_MISMATCH",
            "REPORTDATA "
                + HEX.formatHex(rd).substring(0, 40)
                + "… is not the signing address ‖ zero padding ‖ nonce");
      }
      return Check.pass(
          REPORT_DATA,
          "the DCAP-verified quote binds "
              + attested.get().display()
              + " and nonce "
              + HEX.formatHex(nonce));
    }

    Check tcb() {
      if (quote == null) {
        return Check.skip(TCB, "no verified quote");
      }
      facts.put("tcbStatus", String.valueOf(quote.status()));
      facts.putPOJO("advisoryIds", quote.advisoryIds());
      if (id.unavailable().isPresent()) {
        return unavailable(TCB);
      }
      QuotePolicy.Decision d = id.tcb().evaluate(quote);
      String what =
          "TCB "
              + quote.status()
              + (quote.advisoryIds().isEmpty()
                  ? ", no advisories"
                  : ", advisories " + String.join(",", quote.advisoryIds()));
      if (!d.allowed()) {
        return Check.fail(TCB, "TCB_NOT_ALLOWED", what + ": " + String.join("; ", d.violations()));
      }
      return Check.pass(TCB, what + ": accepted");
    }

    Check osImage() {
      if (quote == null) {
        return Check.skip(OS_IMAGE, "no verified quote");
      }
      TdReport td = quote.td();
      EventLogCheck log = EventLogCheck.of(report.path("event_log").asText(""), td);
      bootChecked = true;
      ObjectNode eo = facts.putObject("eventLog");
      eo.put("replayed", log.replayed());
      if (!log.replayed()) {
        return Check.fail(
            OS_IMAGE,
            "EVENT_LOG_INVALID",
            "the event log does not replay to the quote: " + oneLine(log.error().orElse("")));
      }
      boot = log.verified().get().identity();
      eo.put("appId", boot.appId().hex());
      eo.put("composeHash", boot.composeHash().hex());
      eo.put("instanceId", boot.instanceId().hex());
      eo.put("osImageHash", boot.osImageHash().map(Bytes::hex).orElse(null));
      eo.put("keyProvider", boot.keyProvider().orElse(null));
      Bytes mrSystem = MrSystem.of(td);
      if (id.unavailable().isPresent()) {
        return unavailable(OS_IMAGE);
      }
      if (boot.osImageHash().isEmpty()) {
        return Check.fail(
            OS_IMAGE,
            "OS_IMAGE_NOT_ALLOWED",
            "the event log names no OS image (no os-image-hash event)");
      }
      Bytes image = boot.osImageHash().get();
      Set<Bytes> golden = id.osImages().get(image);
      if (golden == null) {
        return Check.fail(
            OS_IMAGE,
            "OS_IMAGE_NOT_ALLOWED",
            "OS image " + image.hex() + " is not allowed by " + id.source());
      }
      if (!golden.contains(mrSystem)) {
        return Check.fail(
            OS_IMAGE,
            "OS_IMAGE_MEASUREMENT_MISMATCH",
            "the hardware-measured mrSystem "
                + mrSystem.hex()
                + " ("
                + MrSystem.describe(td)
                + ") is none of the "
                + golden.size()
                + " golden value(s) of OS image "
                + image.hex());
      }
      return Check.pass(
          OS_IMAGE, "OS image " + image.hex() + ", proven by mrSystem " + mrSystem.hex());
    }

    Check compose() {
      String name = id.onChain() ? COMPOSE_ON_CHAIN : COMPOSE;
      if (boot == null) {
        return Check.skip(name, "no replayed event log");
      }
      Optional<String> launch = MrConfigId.mismatch(quote.td().mrConfigId(), boot.composeHash());
      if (launch.isPresent()) {
        return Check.fail(name, "MR_CONFIG_ID_MISMATCH", launch.get());
      }
      if (id.unavailable().isPresent()) {
        return unavailable(name);
      }
      if (id.appId().isPresent() && !id.appId().get().equals(boot.appId())) {
        return Check.fail(
            name,
            "APP_ID_MISMATCH",
            "the CVM belongs to app 0x" + boot.appId().hex() + ", not 0x" + id.appId().get().hex());
      }
      if (id.appRefusal().isPresent()) {
        return Check.fail(name, "APP_NOT_ALLOWED", id.appRefusal().get());
      }
      if (!id.composeHashes().contains(boot.composeHash())) {
        return Check.fail(
            name,
            "COMPOSE_HASH_NOT_ALLOWED",
            "compose hash " + boot.composeHash().hex() + " is not allowed by " + id.source());
      }
      return Check.pass(
          name,
          "app 0x"
              + boot.appId().hex()
              + " runs compose hash "
              + boot.composeHash().hex()
              + ", allowed by "
              + id.source());
    }

    Check gpus() {
      if (report == null) {
        return Check.skip(GPUS, "no attestation report");
      }
      JsonNode p = report.get("nvidia_payload");
      boolean present = p != null && !p.isNull() && !(p.isTextual() && p.asText().isEmpty());
      ObjectNode go = facts.putObject("gpu");
      go.put("present", present);
      if (id.unavailable().isPresent()) {
        return unavailable(GPUS);
      }
      GpuRequirement req = id.gpu();
      if (!present) {
        return req.required()
            ? Check.fail(
                GPUS,
                "GPU_EVIDENCE_MISSING",
                "the report carries no GPU evidence; " + id.source() + " requires " + req)
            : Check.pass(GPUS, "no GPU evidence, none required");
      }
      NvidiaPayload payload;
      try {
        payload = NvidiaPayload.decode(p.isTextual() ? p.asText() : p.toString());
      } catch (RuntimeException e) {
        return Check.fail(
            GPUS, "GPU_EVIDENCE_INVALID", "nvidia_payload: " + oneLine(e.getMessage()));
      }
      if (nonce == null || !MessageDigest.isEqual(nonce, payload.nonce().toByteArray())) {
        return Check.fail(
            GPUS, "GPU_NONCE_MISMATCH", "the GPU evidence answers another nonce than the report");
      }
      // The GPUs must be the ones the quoted CVM measured at boot: evidence of another machine's
      // GPUs, fresh for
      // this nonce and relayed in, verifies on its own (docs/gpu-attestation.md §5, gpu-devices).
      if (!bootChecked || boot == null) {
        return Check.skip(GPUS, "no replayed event log to tie the GPUs to the CVM");
      }
      boolean same;
      try {
        same =
            boot.gpuDevices().isPresent()
                && MessageDigest.isEqual(
                    boot.gpuDevices().get().toByteArray(), GpuDevices.digest(payload.evidence()));
      } catch (GpuAttestationException e) {
        return Check.fail(GPUS, "GPU_EVIDENCE_INVALID", oneLine(e.getMessage()));
      }
      if (!same) {
        return Check.fail(
            GPUS,
            "GPU_DEVICE_CHANGED",
            boot.gpuDevices().isEmpty()
                ? "the CVM measured no gpu-devices event at boot, so its GPU evidence cannot be tied to it"
                : "the GPU evidence comes from other devices than the CVM measured at boot (gpu-devices)");
      }
      if (s.gpu() == null) {
        return Check.fail(
            GPUS, "GPU_EVIDENCE_UNCHECKED", "GPU evidence is present but no GPU trust root is set");
      }
      List<GpuResult> results = s.gpu().verify(payload.evidence(), nonce, s.at());
      ArrayNode arr = go.putArray("gpus");
      for (GpuResult g : results) {
        ObjectNode o = arr.addObject();
        o.put("valid", g.valid());
        o.put("arch", g.arch() == null ? null : g.arch().name());
        o.put("driverVersion", g.driverVersion());
        o.put("vbiosVersion", g.vbiosVersion());
        o.put("deviceId", g.deviceId());
        o.put("measurements", g.measurements().status().name());
        o.put("simulated", g.simulated());
        if (!g.valid()) {
          o.put("failure", g.failure().name());
          o.put("error", g.error());
        }
      }
      for (int i = 0; i < results.size(); i++) {
        GpuResult g = results.get(i);
        if (!g.valid()) {
          return Check.fail(
              GPUS,
              g.failure() == GpuAttestationException.Reason.NONCE_MISMATCH
                  ? "GPU_NONCE_MISMATCH"
                  : "GPU_EVIDENCE_INVALID",
              "GPU " + i + ": " + oneLine(g.error()));
        }
        if (req.requireRims() && !g.measurements().matched()) {
          return Check.fail(
              GPUS,
              "GPU_RIMS_NOT_CHECKED",
              "GPU "
                  + i
                  + ": measurements were not compared with "
                  + "NVIDIA's RIMs (give a RIM store), and "
                  + id.source()
                  + " requires "
                  + req);
        }
        if (!req.arch().isEmpty()
            && (g.arch() == null || !req.arch().equalsIgnoreCase(g.arch().name()))) {
          return Check.fail(
              GPUS,
              "GPU_POLICY",
              "GPU " + i + " is " + g.arch() + ", the policy requires " + req.arch());
        }
        if (req.minDriverVersion().isPresent()
            && !driverAtLeast(g.driverVersion(), req.minDriverVersion().get())) {
          return Check.fail(
              GPUS,
              "GPU_POLICY",
              "GPU "
                  + i
                  + " runs driver "
                  + g.driverVersion()
                  + ", the policy requires at least "
                  + req.minDriverVersion().get());
        }
      }
      if (results.size() < req.count()) {
        return Check.fail(
            GPUS,
            "GPU_POLICY",
            results.size() + " GPU(s) attested, the policy requires at least " + req.count());
      }
      boolean rims = results.stream().allMatch(g -> g.measurements().matched());
      return Check.pass(
          GPUS,
          results.size()
              + " GPU(s) verified with the report's nonce"
              + (rims ? ", measurements match the RIMs" : ", measurements not compared with RIMs")
              + (results.stream().anyMatch(GpuResult::simulated) ? " (SIMULATED root)" : "")
              + (req.required() ? "; meets " + req : ""));
    }

    Check unavailable(String name) {
      return Check.fail(
          name, "POLICY_UNAVAILABLE", "no expected identity: " + oneLine(id.unavailable().get()));
    }
  }

  private static boolean driverAtLeast(String actual, String minimum) {
    try {
      return GpuRequirement.driverOrder(actual) >= GpuRequirement.driverOrder(minimum);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static JsonNode object(byte[] json) {
    if (json == null) {
      return null;
    }
    try {
      JsonNode n = JSON.readTree(json);
      return n != null && n.isObject() ? n : null;
    } catch (Exception e) {
      return null;
    }
  }

  /**
   * The signer an attestation names (its {@code signing_algo} defaults to ecdsa, as NEAR's verifier
   * reads it).
   */
  private static Optional<SignerIdentity> attestedSigner(JsonNode attestation) {
    return SignerIdentity.parse(
        attestation.path("signing_algo").asText(SignedText.SIGNING_ALGO),
        attestation.path("signing_address").asText(null));
  }

  private static byte[] hex(String text, int length) {
    if (text == null) {
      return null;
    }
    try {
      byte[] b = HEX.parseHex(text.startsWith("0x") ? text.substring(2) : text);
      return length >= 0 && b.length != length ? null : b;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  static String clip(String t, int max) {
    return t.length() > max ? t.substring(0, max) + "…" : t;
  }

  static String oneLine(String message) {
    return clip(message == null ? "" : message.replaceAll("[\\r\\n]+", " "), 500);
  }
}
