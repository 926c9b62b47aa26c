package org.teekms.agent.verify;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import org.teekms.keys.EthSignature;
import org.teekms.keys.EthereumAddress;
import org.teekms.keys.Secp256k1;

/**
 * The signed statement about one proxied exchange: {@code text = hex(SHA-256(request body)) ":" hex(SHA-256(response
 * body))} (lowercase), signed with EIP-191 {@code personal_sign}: ECDSA/secp256k1 over
 * {@code keccak256("\x19Ethereum Signed Message:\n" ‖ decimal byte length of text ‖ text)}, encoded as
 * {@code 0x ‖ r ‖ s ‖ v} (v = 27/28), so {@code ethers.verifyMessage(text, signature)} returns the signing address.
 */
public final class SignedText {
  public static final String SIGNING_ALGO = "ecdsa";

  private SignedText() {}

  public static String textOfBodies(byte[] requestBody, byte[] responseBody) {
    return text(sha256(requestBody), sha256(responseBody));
  }

  public static String text(byte[] requestSha256, byte[] responseSha256) {
    HexFormat hex = HexFormat.of();
    return hex.formatHex(requestSha256) + ":" + hex.formatHex(responseSha256);
  }

  /** The EIP-191 personal message bytes whose Keccak-256 is signed. */
  public static byte[] personalMessage(String text) {
    byte[] t = text.getBytes(StandardCharsets.UTF_8);
    byte[] prefix = ("\u0019Ethereum Signed Message:\n" + t.length).getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[prefix.length + t.length];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    System.arraycopy(t, 0, out, prefix.length, t.length);
    return out;
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
      return Secp256k1.recoverAddress(personalMessage(text), EthSignature.fromBytes(b));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  public static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
