package org.teekms.verifier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;

/**
 * Picks, from an attestation report in the NEAR AI / vLLM-proxy layout, the attestation of one
 * signer (docs/verifiable-inference.md §3). A report is one attestation ({@code signing_address},
 * {@code signing_algo}, {@code request_nonce}, {@code intel_quote}, {@code nvidia_payload}, {@code
 * event_log}, {@code info}) that may also carry {@code all_attestations} and {@code
 * model_attestations}: arrays of attestations, one per server behind a load balancer. The
 * attestation checked is:
 *
 * <ol>
 *   <li>the report itself when its {@code signing_address} names the signer;
 *   <li>else the first {@code model_attestations} entry naming the signer (what NEAR's verifier
 *       picks);
 *   <li>none otherwise: the report attests someone else ({@code SIGNER_MISMATCH}).
 * </ol>
 *
 * Every entry of either array that names the signer must equal the attestation picked (the report
 * compared without its two arrays), so a NEAR verifier that reads an entry and we who read the
 * report judge the same evidence: otherwise {@code MALFORMED_REPORT}.
 */
public final class ReportAttestations {
  public static final String ALL = "all_attestations";
  public static final String MODEL = "model_attestations";

  /**
   * The attestation picked, or why there is none ({@code code} SIGNER_MISMATCH or
   * MALFORMED_REPORT).
   */
  public record Pick(Optional<JsonNode> attestation, String code, String problem) {
    static Pick of(JsonNode a) {
      return new Pick(Optional.of(a), null, null);
    }

    static Pick none(String code, String problem) {
      return new Pick(Optional.empty(), code, problem);
    }
  }

  private ReportAttestations() {}

  /** The attestation {@code report} holds for {@code signer}. */
  public static Pick pick(JsonNode report, SignerIdentity signer) {
    JsonNode picked = null;
    if (names(report, signer)) {
      picked = bare(report);
    } else if (report.path(MODEL).isArray()) {
      for (JsonNode e : report.get(MODEL)) {
        if (e.isObject() && names(e, signer)) {
          picked = bare(e);
          break;
        }
      }
    }
    if (picked == null) {
      return Pick.none(
          "SIGNER_MISMATCH", "the report attests no attestation of " + signer.display());
    }
    for (String array : new String[] {ALL, MODEL}) {
      JsonNode arr = report.get(array);
      if (arr == null || arr.isNull()) {
        continue;
      }
      if (!arr.isArray()) {
        return Pick.none("MALFORMED_REPORT", array + " is not an array");
      }
      for (JsonNode e : arr) {
        if (e.isObject() && names(e, signer) && !bare(e).equals(picked)) {
          return Pick.none(
              "MALFORMED_REPORT",
              "an entry of "
                  + array
                  + " attests "
                  + signer.display()
                  + " with other evidence than the report");
        }
      }
    }
    return Pick.of(picked);
  }

  /**
   * Whether {@code a} is an attestation of {@code signer} (its algorithm defaults to ecdsa, as
   * NEAR's verifier).
   */
  static boolean names(JsonNode a, SignerIdentity signer) {
    String algo = a.path("signing_algo").asText(SignedText.SIGNING_ALGO);
    return SignerIdentity.parse(algo, a.path("signing_address").asText(null))
        .map(signer::equals)
        .orElse(false);
  }

  private static JsonNode bare(JsonNode a) {
    if (!a.isObject() || (!a.has(ALL) && !a.has(MODEL))) {
      return a;
    }
    ObjectNode copy = ((ObjectNode) a).deepCopy();
    copy.remove(ALL);
    copy.remove(MODEL);
    return copy;
  }
}
