package org.teekms.verifier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.teekms.attest.eventlog.BootIdentity;
import org.teekms.attest.eventlog.EventLogCheck;
import org.teekms.attest.gpu.GpuAttestationException;
import org.teekms.attest.gpu.GpuDevices;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.MrSystem;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.Bytes;
import org.teekms.keys.EthereumAddress;

/**
 * Checks a signed inference response offline, as an end user would (what {@code teekms verify
 * response} runs):
 *
 * <ol>
 *   <li>the signed text is the v2 text of the given endpoint (method and request-target) and bytes;
 *       a text signed for another endpoint is {@code ENDPOINT_MISMATCH}; the NEAR-compatible {@code
 *       sha256(request):sha256(response)} and the model-committing {@code
 *       model:sha256(request):sha256(response)} (whose model must be the request's {@code model}
 *       field, {@code MODEL_MISMATCH}) are accepted only when {@link Settings#acceptNearText} says
 *       so (they bind no endpoint); a {@code signature_kind}, when given, is {@code provider_tee};
 *       the {@code ecdsa} signature recovers to, or the {@code ed25519} signature verifies under,
 *       the signing address, which the report attests (itself or in {@code model_attestations},
 *       consistently: {@link ReportAttestations});
 *   <li>the quote verifies (DCAP, then the quote policy) and its REPORTDATA is that address padded
 *       to 32 bytes followed by the nonce;
 *   <li>the event log replays to the quote and, when given, the compose hash is the expected one;
 *   <li>the GPU evidence (when present, or required) verifies with the same nonce.
 * </ol>
 *
 * Never throws for bad input: {@link Verdict} says which check failed first and carries every fact
 * established.
 */
public final class SignedResponseVerifier {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HexFormat HEX = HexFormat.of();

  /**
   * What to check against. {@code gpu} null means GPU evidence cannot be checked (then it must be
   * absent). {@code mrSystems}: the golden OS measurements (SHA-256(MRTD ‖ RTMR0-2)) the caller
   * trusts; the quote's must be one of them, since the app identity in RTMR3 is only as honest as
   * the OS that wrote it (empty: nothing is valid). {@code endpoint}: the method and request-target
   * the response was obtained from (what a v2 text must name).
   */
  public record Settings(
      DcapQuoteVerifier dcap,
      CollateralSource collateral,
      QuotePolicy quotePolicy,
      Instant at,
      Optional<byte[]> expectedComposeHash,
      Optional<byte[]> expectedNonce,
      GpuEvidenceVerifier gpu,
      boolean requireGpu,
      Set<Bytes> mrSystems,
      SignedText.Endpoint endpoint,
      boolean acceptNearText) {
    public Settings {
      Objects.requireNonNull(dcap);
      Objects.requireNonNull(collateral);
      Objects.requireNonNull(quotePolicy);
      Objects.requireNonNull(at);
      mrSystems = Set.copyOf(mrSystems);
      Objects.requireNonNull(endpoint, "endpoint");
    }
  }

  /**
   * The outcome: valid, else the first failure's code and message; {@code details} holds every fact
   * found.
   */
  public record Verdict(boolean valid, String failure, String error, ObjectNode details) {}

  private final Settings s;

  public SignedResponseVerifier(Settings settings) {
    this.s = settings;
  }

  public Verdict verify(byte[] reportJson, byte[] signatureJson, byte[] request, byte[] response) {
    ObjectNode out = JSON.createObjectNode();
    List<String[]> problems = new ArrayList<>();
    JsonNode report = parse(reportJson, "report", problems);
    JsonNode fullReport = report;
    JsonNode sig = parse(signatureJson, "signature", problems);
    if (report == null || sig == null) {
      return verdict(out, problems);
    }

    // 1. the signature over the exchange
    ObjectNode so = out.putObject("signature");
    String text = sig.path("text").asText("");
    boolean v2 = text.startsWith(SignedText.V2_TAG + " ");
    Optional<SignedText.ModelText> modelText = v2 ? Optional.empty() : SignedText.modelTextOf(text);
    Optional<String> requestModel =
        SignedText.modelOfRequest(request).filter(SignedText::validModelId);
    so.put("format", v2 ? SignedText.V2_TAG : modelText.isPresent() ? "near-model" : "near");
    String expectedText =
        v2
            ? SignedText.textOfBodies(s.endpoint(), request, response)
            : modelText.isPresent() && requestModel.isPresent()
                ? SignedText.modelTextOfBodies(requestModel.get(), request, response)
                : SignedText.textOfBodies(request, response);
    so.put("expectedText", expectedText);
    so.put(
        "textMatches",
        MessageDigest.isEqual(
            text.getBytes(java.nio.charset.StandardCharsets.UTF_8),
            expectedText.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    if (v2) {
      Optional<SignedText.Endpoint> signedFor = SignedText.endpointOf(text);
      so.put("signedEndpoint", signedFor.map(SignedText.Endpoint::toString).orElse(null));
      if (signedFor.isPresent() && !signedFor.get().equals(s.endpoint())) {
        problems.add(
            new String[] {
              "ENDPOINT_MISMATCH",
              "the response was signed for "
                  + clip(signedFor.get())
                  + ", presented for "
                  + clip(s.endpoint())
            });
      } else if (!so.get("textMatches").asBoolean()) {
        problems.add(
            new String[] {
              "TEXT_MISMATCH",
              "the signed text is not "
                  + SignedText.V2_TAG
                  + " "
                  + clip(s.endpoint())
                  + " sha256(request):sha256(response) of the given files"
            });
      }
    } else if (!s.acceptNearText()) {
      problems.add(
          new String[] {
            "TEXT_FORMAT_NOT_ACCEPTED",
            "the signed text is the NEAR-compatible "
                + "sha256(request):sha256(response), which binds no method, path or query (accept it explicitly)"
          });
    } else if (modelText.isPresent()
        && !text.endsWith(
            ":" + SignedText.text(SignedText.sha256(request), SignedText.sha256(response)))) {
      problems.add(
          new String[] {
            "TEXT_MISMATCH",
            "the signed text is not model:sha256(request):sha256(response) of " + "the given files"
          });
    } else if (modelText.isPresent() && !so.get("textMatches").asBoolean()) {
      problems.add(
          new String[] {
            "MODEL_MISMATCH",
            "the signed text commits to model "
                + clip(modelText.get().model())
                + ", the request asked for "
                + requestModel.map(SignedResponseVerifier::clip).orElse("no model")
          });
    } else if (!so.get("textMatches").asBoolean()) {
      problems.add(
          new String[] {
            "TEXT_MISMATCH",
            "the signed text is not sha256(request):sha256(response) of the " + "given files"
          });
    }
    JsonNode kind = sig.get("signature_kind");
    if (kind != null && !kind.isNull() && !SignedText.SIGNATURE_KIND.equals(kind.asText(""))) {
      problems.add(
          new String[] {
            "SIGNATURE_KIND_UNSUPPORTED", "signature_kind is not " + SignedText.SIGNATURE_KIND
          });
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
    boolean sigOk =
        claimed.isPresent() && claimed.get().signed(text, sig.path("signature").asText(""));
    so.put("valid", sigOk);
    if (!sigOk) {
      problems.add(
          new String[] {
            "SIGNATURE_INVALID",
            "the signature does not recover to signing_address "
                + sig.path("signing_address").asText("")
          });
    }
    ReportAttestations.Pick pick =
        claimed.isPresent()
            ? ReportAttestations.pick(fullReport, claimed.get())
            : new ReportAttestations.Pick(
                Optional.empty(), "SIGNER_MISMATCH", "the report attests another signing address");
    boolean sameSigner = pick.attestation().isPresent();
    so.put("reportSigner", sameSigner);
    if (!sameSigner) {
      problems.add(
          new String[] {
            pick.code(),
            "SIGNER_MISMATCH".equals(pick.code())
                ? "the report attests another signing address"
                : pick.problem()
          });
    } else {
      report = pick.attestation().get();
    }

    // 2. the quote and its REPORTDATA
    Optional<Bytes> bootGpuDevices =
        null; // null: no replayed event log to check GPU devices against
    byte[] nonce = hex(report.path("request_nonce").asText(null), 32);
    out.put("nonce", nonce == null ? null : HEX.formatHex(nonce));
    if (nonce == null) {
      problems.add(new String[] {"MALFORMED_REPORT", "request_nonce must be 32 bytes of hex"});
    } else if (s.expectedNonce().isPresent()
        && !MessageDigest.isEqual(nonce, s.expectedNonce().get())) {
      problems.add(
          new String[] {
            "NONCE_MISMATCH",
            "the report answers nonce " + HEX.formatHex(nonce) + ", not the expected one"
          });
    }
    byte[] quote = hex(report.path("intel_quote").asText(null), -1);
    ObjectNode qo = out.putObject("quote");
    TdReport td = null;
    if (quote == null) {
      problems.add(new String[] {"MALFORMED_REPORT", "intel_quote is not hex"});
    } else {
      QuoteVerificationResult q;
      try {
        q = s.dcap().verify(org.teekms.attest.tdx.TdxQuote.parse(quote), s.collateral(), s.at());
      } catch (org.teekms.attest.tdx.QuoteParseException e) {
        q = null;
        qo.put("valid", false);
        qo.put("failure", "MALFORMED_QUOTE");
        qo.put("error", e.getMessage());
        problems.add(new String[] {"QUOTE_INVALID", "quote: " + e.getMessage()});
      }
      if (q != null) {
        qo.put("valid", q.valid());
        qo.put("status", q.status() == null ? null : q.status().toString());
        qo.putPOJO("advisoryIds", q.advisoryIds());
        if (!q.valid()) {
          qo.put("failure", q.failure() == null ? null : q.failure().name());
          qo.put("error", q.error());
          problems.add(new String[] {"QUOTE_INVALID", "quote: " + q.error()});
        } else {
          QuotePolicy.Decision d = s.quotePolicy().evaluate(q);
          qo.put("policyAllowed", d.allowed());
          if (!d.allowed()) {
            problems.add(
                new String[] {
                  "QUOTE_POLICY", "quote policy: " + String.join("; ", d.violations())
                });
          }
        }
        td = q.td();
      }
    }
    if (td != null) {
      byte[] rd = td.reportData().toByteArray();
      qo.put("reportData", HEX.formatHex(rd));
      boolean bound =
          claimed.isPresent()
              && nonce != null
              && MessageDigest.isEqual(rd, claimed.get().reportData(nonce));
      qo.put("bindsAddressAndNonce", bound);
      if (!bound) {
        problems.add(
            new String[] {
              "REPORT_DATA_MISMATCH", "REPORTDATA is not signing address ‖ zero padding ‖ nonce"
            });
      }
      // 3. the event log and the compose hash
      EventLogCheck check = EventLogCheck.of(report.path("event_log").asText(""), td);
      ObjectNode eo = out.putObject("eventLog");
      eo.put("replayed", check.replayed());
      check.error().ifPresent(e -> eo.put("error", e));
      if (!check.replayed()) {
        problems.add(new String[] {"EVENT_LOG_INVALID", "event log: " + check.error().orElse("")});
      } else {
        BootIdentity id = check.verified().get().identity();
        bootGpuDevices = id.gpuDevices();
        eo.put("appId", id.appId().hex());
        eo.put("composeHash", id.composeHash().hex());
        eo.put("instanceId", id.instanceId().hex());
        eo.put("keyProvider", id.keyProvider().orElse(null));
        eo.put("osImageHash", id.osImageHash().map(b -> b.hex()).orElse(null));
        eo.put("mrAggregated", check.verified().get().mrAggregated().hex());
        eo.put("composeHashChecked", s.expectedComposeHash().isPresent());
        if (s.expectedComposeHash().isPresent()
            && !MessageDigest.isEqual(
                s.expectedComposeHash().get(), id.composeHash().toByteArray())) {
          problems.add(
              new String[] {
                "COMPOSE_HASH_MISMATCH",
                "the CVM runs compose hash "
                    + id.composeHash().hex()
                    + ", expected "
                    + HEX.formatHex(s.expectedComposeHash().get())
              });
        }
      }
      // 3b. the OS the TDX module measured, against the caller's golden values
      Bytes mrSystem = MrSystem.of(td);
      boolean proven = s.mrSystems().contains(mrSystem);
      ObjectNode oo = out.putObject("osMeasurement");
      oo.put("mrSystem", mrSystem.hex());
      oo.put("osImageHash", eo.path("osImageHash").asText(null));
      oo.put("goldenValues", s.mrSystems().size());
      oo.put("proven", proven);
      oo.put("by", proven ? "mr-system" : null);
      if (!proven) {
        String what = "the OS (mrSystem " + mrSystem.hex() + ": " + MrSystem.describe(td) + ")";
        problems.add(
            s.mrSystems().isEmpty()
                ? new String[] {
                  "OS_IMAGE_NOT_PROVEN",
                  what
                      + " is not proven: no golden mrSystem given, so the app "
                      + "identity in RTMR3 is only what that OS claims"
                }
                : new String[] {
                  "OS_IMAGE_MEASUREMENT_MISMATCH",
                  what + " is none of the " + s.mrSystems().size() + " golden mrSystem value(s)"
                });
      }
    } else if (quote != null) {
      problems.add(
          new String[] {"EVENT_LOG_INVALID", "no TD report to replay the event log against"});
    }

    // 4. GPU evidence with the same nonce
    gpu(report, nonce, bootGpuDevices, out.putObject("gpu"), problems);
    return verdict(out, problems);
  }

  /**
   * @param bootDevices the {@code gpu-devices} event of the replayed event log (empty: none
   *     measured); null when the log did not replay (already a problem)
   */
  private void gpu(
      JsonNode report,
      byte[] nonce,
      Optional<Bytes> bootDevices,
      ObjectNode go,
      List<String[]> problems) {
    JsonNode p = report.get("nvidia_payload");
    boolean present = p != null && !p.isNull();
    go.put("present", present);
    if (!present) {
      if (s.requireGpu()) {
        problems.add(new String[] {"GPU_EVIDENCE_MISSING", "the report carries no GPU evidence"});
      }
      return;
    }
    NvidiaPayload payload;
    try {
      payload = NvidiaPayload.decode(p.isTextual() ? p.asText() : p.toString());
    } catch (RuntimeException e) {
      go.put("error", e.getMessage());
      problems.add(new String[] {"GPU_EVIDENCE_INVALID", "nvidia_payload: " + e.getMessage()});
      return;
    }
    boolean sameNonce = nonce != null && MessageDigest.isEqual(nonce, payload.nonce());
    go.put("nonceMatches", sameNonce);
    if (!sameNonce) {
      problems.add(
          new String[] {"GPU_EVIDENCE_INVALID", "nvidia_payload was made for another nonce"});
      return;
    }
    // The GPUs must be the ones the quoted CVM measured at boot: a report of another machine's
    // GPUs, fresh for this
    // nonce and relayed in, verifies on its own (docs/gpu-attestation.md §5, gpu-devices).
    if (bootDevices != null) {
      boolean same = false;
      try {
        same =
            bootDevices.isPresent()
                && MessageDigest.isEqual(
                    bootDevices.get().toByteArray(), GpuDevices.digest(payload.evidence()));
      } catch (GpuAttestationException e) {
        go.put("error", e.getMessage());
      }
      go.put("bootDevicesMatch", same);
      if (!same) {
        problems.add(
            new String[] {
              "GPU_DEVICE_CHANGED",
              bootDevices.isEmpty()
                  ? "the quoted CVM measured no gpu-devices event at boot, so its GPU evidence cannot be tied to it"
                  : "the GPU evidence comes from other devices than the quoted CVM measured at boot (gpu-devices): "
                      + "relayed from another machine?"
            });
      }
    }
    if (s.gpu() == null) {
      problems.add(
          new String[] {
            "GPU_EVIDENCE_UNCHECKED", "GPU evidence is present but no GPU trust anchor is set"
          });
      return;
    }
    List<GpuResult> results = s.gpu().verify(payload.evidence(), nonce, s.at());
    var arr = go.putArray("gpus");
    boolean all = true;
    for (GpuResult r : results) {
      ObjectNode g = arr.addObject();
      g.put("valid", r.valid());
      g.put("arch", r.arch() == null ? null : r.arch().name());
      g.put("driverVersion", r.driverVersion());
      g.put("vbiosVersion", r.vbiosVersion());
      g.put("deviceId", r.deviceId());
      g.put("simulated", r.simulated());
      if (!r.valid()) {
        g.put("failure", r.failure().name());
        g.put("error", r.error());
        all = false;
      }
    }
    go.put("valid", all);
    if (!all) {
      problems.add(
          new String[] {"GPU_EVIDENCE_INVALID", "a GPU report does not verify with the nonce"});
    }
  }

  /** A client-chosen string (model id) in a one-line message: at most 200 characters. */
  private static String clip(String t) {
    return t.length() > 200 ? t.substring(0, 200) + "…" : t;
  }

  /** An endpoint in a one-line message: at most 200 characters (the request-target may be long). */
  private static String clip(SignedText.Endpoint e) {
    String t = e.toString();
    return t.length() > 200 ? t.substring(0, 200) + "…" : t;
  }

  /** REPORTDATA of an attestation report: address ‖ 0x00·12 ‖ nonce. */
  public static byte[] reportData(byte[] address20, byte[] nonce32) {
    byte[] rd = Arrays.copyOf(address20, 64);
    System.arraycopy(nonce32, 0, rd, 32, 32);
    return rd;
  }

  private static Optional<EthereumAddress> address(String text) {
    try {
      return text == null ? Optional.empty() : Optional.of(EthereumAddress.parse(text));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  private static byte[] hex(String text, int length) {
    if (text == null) {
      return null;
    }
    try {
      String t = text.startsWith("0x") ? text.substring(2) : text;
      byte[] b = HEX.parseHex(t);
      return length >= 0 && b.length != length ? null : b;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static JsonNode parse(byte[] json, String what, List<String[]> problems) {
    try {
      JsonNode n = JSON.readTree(json);
      if (n != null && n.isObject()) {
        return n;
      }
    } catch (Exception e) {
      // reported below
    }
    problems.add(new String[] {"MALFORMED_INPUT", what + " is not a JSON object"});
    return null;
  }

  private static Verdict verdict(ObjectNode out, List<String[]> problems) {
    boolean valid = problems.isEmpty();
    ObjectNode ordered = JSON.createObjectNode();
    ordered.put("valid", valid);
    ordered.put("failure", valid ? null : problems.get(0)[0]);
    ordered.put("error", valid ? null : problems.get(0)[1]);
    ordered.setAll(out);
    return new Verdict(
        valid, valid ? null : problems.get(0)[0], valid ? null : problems.get(0)[1], ordered);
  }
}
