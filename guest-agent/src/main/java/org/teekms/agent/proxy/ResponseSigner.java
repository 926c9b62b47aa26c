package org.teekms.agent.proxy;

import org.teekms.verifier.SignedText;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.Secp256k1SigningKey;

/**
 * Signs proxied exchanges with the app's response-signing key (secp256k1, purpose {@code signing}, derived from the
 * app root secret of the current key version: the same key after every restart, a new one when the version rotates).
 */
public final class ResponseSigner implements AutoCloseable {
  private final Secp256k1SigningKey key;
  private final String address;
  private final SignedText.Format format;

  /** Takes ownership of {@code key}; signs the v2 text (method, request-target and both bodies). */
  public ResponseSigner(DerivedKey key) {
    this(key, SignedText.Format.V2);
  }

  /** Takes ownership of {@code key}; {@code format} NEAR signs only {@code request_hash:response_hash}. */
  public ResponseSigner(DerivedKey key, SignedText.Format format) {
    this.key = key.secp256k1Signer(); // shares the key's secret: close() zeroizes it
    this.address = this.key.address().toChecksumString();
    this.format = java.util.Objects.requireNonNull(format);
  }

  public SignedText.Format format() {
    return format;
  }

  /** EIP-55 address of the signing key. */
  public String address() {
    return address;
  }

  public byte[] addressBytes() {
    return key.address().toBytes();
  }

  public SignedResponse sign(SignedText.Endpoint endpoint, byte[] requestSha256, byte[] responseSha256) {
    String text = SignedText.text(format, endpoint, requestSha256, responseSha256);
    String sig = SignedText.encodeSignature(
        key.signPersonalMessage(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    return new SignedResponse(text, sig, address, SignedText.SIGNING_ALGO);
  }

  @Override
  public void close() {
    key.destroy();
  }
}
