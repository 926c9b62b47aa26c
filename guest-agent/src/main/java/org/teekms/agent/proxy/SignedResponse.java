package org.teekms.agent.proxy;

import java.util.Objects;
import java.util.Optional;
import org.teekms.verifier.SignedText;

/**
 * What {@code /v1/signature/{chat_id}} serves: the signed text, its ECDSA signature, the signer and
 * the algorithm name; and, when the proxy also signs with Ed25519, that signature of the same text
 * ({@code ?signing_algo=ed25519}).
 */
public record SignedResponse(
    String text,
    String signature,
    String signingAddress,
    String signingAlgo,
    Optional<Ed25519> ed25519) {

  /**
   * The Ed25519 signature (128 hex digits) of the same text and its signer (the public key, 64 hex
   * digits).
   */
  public record Ed25519(String signature, String signingAddress) {}

  public SignedResponse {
    Objects.requireNonNull(ed25519, "ed25519");
  }

  public SignedResponse(String text, String signature, String signingAddress, String signingAlgo) {
    this(text, signature, signingAddress, signingAlgo, Optional.empty());
  }

  /** This response as signed with {@code algo} ({@code ecdsa} or {@code ed25519}), if it was. */
  public Optional<SignedResponse> as(String algo) {
    if (signingAlgo.equals(algo)) {
      return Optional.of(new SignedResponse(text, signature, signingAddress, signingAlgo));
    }
    if (SignedText.ED25519.equals(algo) && ed25519.isPresent()) {
      return Optional.of(
          new SignedResponse(
              text, ed25519.get().signature(), ed25519.get().signingAddress(), SignedText.ED25519));
    }
    return Optional.empty();
  }
}
