package org.teekms.verifier;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Optional;
import org.teekms.crypto.Digests;
import org.teekms.keys.EthSignature;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.Secp256k1SigningKey;

/**
 * The signed statement about one proxied exchange (docs/verifiable-inference.md §2), in one of two formats:
 * <ul>
 *   <li>{@link Format#V2} (default): {@code "teekms-response-v2" SP method SP request-target SP hex(SHA-256(request
 *       body)) ":" hex(SHA-256(response body))}: the method and the request-target (path and query, exactly as the
 *       client sent them) are covered, so a signature cannot be presented for another endpoint;</li>
 *   <li>{@link Format#NEAR}: {@code hex(SHA-256(request body)) ":" hex(SHA-256(response body))}, what NEAR AI's
 *       verifiers expect; it binds neither the method nor the path nor the query.</li>
 * </ul>
 * Hex is lowercase. Signed with EIP-191 {@code personal_sign}: ECDSA/secp256k1 over
 * {@code keccak256("\x19Ethereum Signed Message:\n" ‖ decimal byte length of text ‖ text)}, encoded as
 * {@code 0x ‖ r ‖ s ‖ v} (v = 27/28), so {@code ethers.verifyMessage(text, signature)} returns the signing address.
 */
public final class SignedText {
  public static final String SIGNING_ALGO = "ecdsa";
  public static final String V2_TAG = "teekms-response-v2";

  /** The text format a signer writes ({@code proxy.signed-text}: {@code teekms-v2} or {@code near}). */
  public enum Format {
    V2("teekms-v2"), NEAR("near");

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
      throw new IllegalArgumentException("signed text format must be teekms-v2 or near, got '" + name + "'");
    }
  }

  /**
   * The endpoint of an exchange: the HTTP method (1-16 upper-case letters) and the request-target as sent (origin
   * form: path and query, 1-8192 visible ASCII characters, no space), so the text splits unambiguously on spaces.
   */
  public record Endpoint(String method, String target) {
    public Endpoint {
      if (method == null || !method.matches("[A-Z]{1,16}")) {
        throw new IllegalArgumentException("method must be 1-16 upper-case letters");
      }
      if (target == null || target.isEmpty() || target.length() > 8192 || !target.startsWith("/")
          || !target.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        throw new IllegalArgumentException("request-target must be 1-8192 visible ASCII characters starting with /");
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

  public static String text(Format format, Endpoint endpoint, byte[] requestSha256, byte[] responseSha256) {
    String hashes = text(requestSha256, responseSha256);
    return format == Format.NEAR ? hashes : V2_TAG + " " + endpoint.method() + " " + endpoint.target() + " " + hashes;
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

  /** The signer of {@code signatureHex} over {@code text}, or empty when the signature is malformed or invalid. */
  public static Optional<EthereumAddress> recover(String text, String signatureHex) {
    try {
      String h = signatureHex.startsWith("0x") || signatureHex.startsWith("0X") ? signatureHex.substring(2)
          : signatureHex;
      byte[] b = HexFormat.of().parseHex(h);
      if (b.length != 65) {
        return Optional.empty();
      }
      return Secp256k1SigningKey.recoverPersonalSigner(text.getBytes(StandardCharsets.UTF_8),
          EthSignature.fromBytes(b));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  public static byte[] sha256(byte[] b) {
    return Digests.sha256(b);
  }
}
