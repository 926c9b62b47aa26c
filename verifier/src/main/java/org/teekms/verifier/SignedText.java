package org.teekms.verifier;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Optional;
import org.teekms.crypto.Digests;
import org.teekms.keys.EthSignature;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.Secp256k1SigningKey;

/**
 * The signed statement about one proxied exchange (docs/verifiable-inference.md §2), in one of two
 * formats:
 *
 * <ul>
 *   <li>{@link Format#V2} (default): {@code "teekms-response-v2" SP method SP request-target SP
 *       hex(SHA-256(request body)) ":" hex(SHA-256(response body))}: the method and the
 *       request-target (path and query, exactly as the client sent them) are covered, so a
 *       signature cannot be presented for another endpoint;
 *   <li>{@link Format#NEAR}: {@code hex(SHA-256(request body)) ":" hex(SHA-256(response body))},
 *       what NEAR AI's verifiers expect; it binds neither the method nor the path nor the query;
 *   <li>{@link Format#NEAR_MODEL}: {@code model ":" hex(SHA-256(request body)) ":"
 *       hex(SHA-256(response body))}, the three-part text NEAR AI's verifiers also accept: it
 *       commits to the model id (the request's {@code model} field) in the clear, still no method,
 *       path or query. The model id may itself contain colons: the last two fields are the hashes
 *       ({@link #modelTextOf}).
 * </ul>
 *
 * Hex is lowercase. Signed with EIP-191 {@code personal_sign}: ECDSA/secp256k1 over {@code
 * keccak256("\x19Ethereum Signed Message:\n" ‖ decimal byte length of text ‖ text)}, encoded as
 * {@code 0x ‖ r ‖ s ‖ v} (v = 27/28), so {@code ethers.verifyMessage(text, signature)} returns the
 * signing address.
 */
public final class SignedText {
  public static final String SIGNING_ALGO = "ecdsa";
  public static final String V2_TAG = "teekms-response-v2";

  /** The second algorithm a proxy may sign with: RFC 8032 Ed25519 over the text's UTF-8 bytes. */
  public static final String ED25519 = "ed25519";

  /**
   * {@code signature_kind} of a signature made by the provider's TEE (the proxy in the attested
   * CVM).
   */
  public static final String SIGNATURE_KIND = "provider_tee";

  /**
   * The text format a signer writes ({@code proxy.signed-text}: {@code teekms-v2} or {@code near}).
   */
  public enum Format {
    V2("teekms-v2"),
    NEAR("near"),
    NEAR_MODEL("near-model");

    private final String configName;

    Format(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }

    public static Format ofConfig(String name) {
      for (Format f : values()) {
        if (f.configName.equals(name)) {
          return f;
        }
      }
      throw new IllegalArgumentException(
          "signed text format must be teekms-v2, near or near-model, got '" + name + "'");
    }
  }

  /**
   * The endpoint of an exchange: the HTTP method (1-16 upper-case letters) and the request-target
   * as sent (origin form: path and query, 1-8192 visible ASCII characters, no space), so the text
   * splits unambiguously on spaces.
   */
  public record Endpoint(String method, String target) {
    public Endpoint {
      if (method == null || !method.matches("[A-Z]{1,16}")) {
        throw new IllegalArgumentException("method must be 1-16 upper-case letters");
      }
      if (target == null
          || target.isEmpty()
          || target.length() > 8192
          || !target.startsWith("/")
          || !target.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        throw new IllegalArgumentException(
            "request-target must be 1-8192 visible ASCII characters starting with /");
      }
    }

    @Override
    public String toString() {
      return method + " " + target;
    }
  }

  private SignedText() {}

  /** The NEAR-compatible text of two bodies. */
  public static String textOfBodies(byte[] requestBody, byte[] responseBody) {
    return text(sha256(requestBody), sha256(responseBody));
  }

  /** The v2 text of an exchange at {@code endpoint}. */
  public static String textOfBodies(Endpoint endpoint, byte[] requestBody, byte[] responseBody) {
    return text(Format.V2, endpoint, sha256(requestBody), sha256(responseBody));
  }

  /** The NEAR-compatible text {@code request_hash:response_hash}. */
  public static String text(byte[] requestSha256, byte[] responseSha256) {
    HexFormat hex = HexFormat.of();
    return hex.formatHex(requestSha256) + ":" + hex.formatHex(responseSha256);
  }

  public static String text(
      Format format, Endpoint endpoint, byte[] requestSha256, byte[] responseSha256) {
    if (format == Format.NEAR_MODEL) {
      throw new IllegalArgumentException("the near-model text needs the model id");
    }
    String hashes = text(requestSha256, responseSha256);
    return format == Format.NEAR
        ? hashes
        : V2_TAG + " " + endpoint.method() + " " + endpoint.target() + " " + hashes;
  }

  /**
   * The text of {@code format}; {@code model} is used by {@link Format#NEAR_MODEL} only (and must
   * be valid then).
   */
  public static String text(
      Format format, Endpoint endpoint, String model, byte[] requestSha256, byte[] responseSha256) {
    if (format != Format.NEAR_MODEL) {
      return text(format, endpoint, requestSha256, responseSha256);
    }
    if (!validModelId(model)) {
      throw new IllegalArgumentException(
          "model id must be 1-256 characters without control characters, not starting with '"
              + V2_TAG
              + " '");
    }
    return model + ":" + text(requestSha256, responseSha256);
  }

  /** The model-committing text {@code model:sha256(request):sha256(response)} of two bodies. */
  public static String modelTextOfBodies(String model, byte[] requestBody, byte[] responseBody) {
    return text(Format.NEAR_MODEL, null, model, sha256(requestBody), sha256(responseBody));
  }

  /**
   * A model id that can be committed to: 1-256 characters, none a control character, and not
   * starting with the v2 tag and a space (its near-model text would read as a v2 text, which no
   * verifier accepts: the proxy would sign what nobody can check; found by the proxyRequest fuzz
   * target, docs/reliability.md).
   */
  public static boolean validModelId(String model) {
    return model != null
        && !model.isEmpty()
        && model.length() <= 256
        && model.chars().noneMatch(c -> c < 0x20 || c == 0x7f)
        && !model.startsWith(V2_TAG + " ");
  }

  /** The fields of a model-committing text. */
  public record ModelText(String model, String requestHash, String responseHash) {}

  /**
   * The fields of {@code text} when it is a model-committing text: it ends in two colon-separated
   * runs of 64 lowercase hex digits preceded by a valid model id and a colon; empty otherwise (a v2
   * or two-part text, or garbage).
   */
  public static Optional<ModelText> modelTextOf(String text) {
    if (text == null || text.length() < 64 + 1 + 64 + 2 || text.startsWith(V2_TAG + " ")) {
      return Optional.empty();
    }
    int n = text.length();
    String resp = text.substring(n - 64);
    String req = text.substring(n - 129, n - 65);
    if (text.charAt(n - 65) != ':'
        || text.charAt(n - 130) != ':'
        || !lowerHex(req)
        || !lowerHex(resp)) {
      return Optional.empty();
    }
    String model = text.substring(0, n - 130);
    return validModelId(model) ? Optional.of(new ModelText(model, req, resp)) : Optional.empty();
  }

  /**
   * The {@code model} field of a JSON request body (what the proxy commits to), or empty when the
   * body is not a JSON object with a string {@code model}.
   */
  public static Optional<String> modelOfRequest(byte[] requestBody) {
    try {
      com.fasterxml.jackson.databind.JsonNode n = MODEL_READER.readTree(requestBody);
      return n != null && n.isObject() && n.path("model").isTextual()
          ? Optional.of(n.get("model").asText())
          : Optional.empty();
    } catch (java.io.IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper MODEL_READER =
      new com.fasterxml.jackson.databind.ObjectMapper();

  private static boolean lowerHex(String s) {
    return s.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }

  /** The endpoint a v2 text names, or empty when {@code text} is not a well-formed v2 text. */
  public static Optional<Endpoint> endpointOf(String text) {
    String[] parts = text.split(" ", -1);
    if (parts.length != 4 || !parts[0].equals(V2_TAG)) {
      return Optional.empty();
    }
    try {
      return Optional.of(new Endpoint(parts[1], parts[2]));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The EIP-191 personal message bytes whose Keccak-256 is signed. */
  public static byte[] personalMessage(String text) {
    return Secp256k1SigningKey.personalMessage(text.getBytes(StandardCharsets.UTF_8));
  }

  public static String encodeSignature(EthSignature sig) {
    return "0x" + HexFormat.of().formatHex(sig.toBytes());
  }

  /**
   * The signer of {@code signatureHex} over {@code text}, or empty when the signature is malformed
   * or invalid.
   */
  public static Optional<EthereumAddress> recover(String text, String signatureHex) {
    try {
      String h =
          signatureHex.startsWith("0x") || signatureHex.startsWith("0X")
              ? signatureHex.substring(2)
              : signatureHex;
      byte[] b = HexFormat.of().parseHex(h);
      if (b.length != 65) {
        return Optional.empty();
      }
      return Secp256k1SigningKey.recoverPersonalSigner(
          text.getBytes(StandardCharsets.UTF_8), EthSignature.fromBytes(b));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  public static byte[] sha256(byte[] b) {
    return Digests.sha256(b);
  }
}
