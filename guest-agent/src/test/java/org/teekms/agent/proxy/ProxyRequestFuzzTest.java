package org.teekms.agent.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.teekms.agent.HexField;
import org.teekms.verifier.SignedText;
import org.teekms.verifier.SignerIdentity;

/**
 * Coverage-guided fuzz target (Jazzer) for what the signing proxy reads from a client's request
 * before it forwards it (SigningProxy): the request body's {@code model} (committed to by the
 * near-model text), the request-target signed by the v2 text, and the {@code
 * /v1/attestation/report} query ({@code signing_address} under either algorithm, {@code nonce}).
 * The first input byte picks which; the rest is the value. Corpus: {@code
 * src/test/resources/org/teekms/agent/proxy/ProxyRequestFuzzTestInputs/proxyRequest/}.
 *
 * <p>Invariants: nothing but the documented refusal escapes ({@link IllegalArgumentException} from
 * {@code Endpoint} and {@code HexField}, an empty {@code Optional} elsewhere); whatever is accepted
 * is committed to unambiguously, i.e. a verifier reading the signed text gets back exactly the
 * model or the endpoint the proxy signed (a model id may contain colons, a request-target any
 * visible character), and an accepted signing address names the same signer when re-read from the
 * form the proxy serves.
 */
class ProxyRequestFuzzTest {
  private static final byte[] REQUEST_SHA = SignedText.sha256(new byte[] {1});
  private static final byte[] RESPONSE_SHA = SignedText.sha256(new byte[] {2});

  @FuzzTest
  void proxyRequest(byte[] data) {
    if (data.length == 0) {
      return;
    }
    byte[] value = Arrays.copyOfRange(data, 1, data.length);
    switch ((data[0] & 0xff) % 5) {
      case 0 -> requestBody(value);
      case 1 -> requestTarget(new String(value, StandardCharsets.ISO_8859_1));
      case 2 -> signingAddress(SignedText.SIGNING_ALGO, new String(value, StandardCharsets.UTF_8));
      case 3 -> signingAddress(SignedText.ED25519, new String(value, StandardCharsets.UTF_8));
      default -> nonce(new String(value, StandardCharsets.UTF_8));
    }
  }

  /** As {@code SigningProxy} in near-model mode: a valid model is signed, and read back as is. */
  private static void requestBody(byte[] body) {
    Optional<String> model = SignedText.modelOfRequest(body).filter(SignedText::validModelId);
    if (model.isEmpty()) {
      return; // the proxy answers 400
    }
    String text =
        SignedText.text(SignedText.Format.NEAR_MODEL, null, model.get(), REQUEST_SHA, RESPONSE_SHA);
    SignedText.ModelText read = SignedText.modelTextOf(text).orElseThrow();
    assertEquals(model.get(), read.model(), "the signed text names another model");
    assertEquals(
        SignedText.text(REQUEST_SHA, RESPONSE_SHA), read.requestHash() + ":" + read.responseHash());
  }

  /** As {@code SigningProxy} in v2 mode: a signable target is read back from the v2 text. */
  private static void requestTarget(String target) {
    SignedText.Endpoint endpoint;
    try {
      endpoint = new SignedText.Endpoint("POST", target);
    } catch (IllegalArgumentException refused) {
      return; // the proxy answers 400 "request-target cannot be signed"
    }
    String text = SignedText.text(SignedText.Format.V2, endpoint, REQUEST_SHA, RESPONSE_SHA);
    assertEquals(
        Optional.of(endpoint), SignedText.endpointOf(text), "the v2 text names another endpoint");
  }

  /** As {@code ResponseSigner.find}: an accepted address re-reads to the same signer. */
  private static void signingAddress(String algo, String address) {
    Optional<SignerIdentity> id = SignerIdentity.parse(algo, address);
    if (id.isPresent()) {
      assertEquals(id, SignerIdentity.parse(algo, id.get().display()), "display form differs");
      assertTrue(id.get().reportData(new byte[32]).length == 64);
    }
  }

  /** As {@code AttestationReporter.report}: exactly 32 bytes, or the one-line refusal. */
  private static void nonce(String hex) {
    try {
      assertEquals(32, HexField.parse("nonce", hex, 32).length);
    } catch (IllegalArgumentException refused) {
      assertTrue(refused.getMessage().startsWith("nonce "), refused::getMessage);
    }
  }
}
