package org.teekms.attest.tdx.collateral;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.teekms.crypto.Bytes;

/**
 * A signed Intel collateral document (TCB info or QE identity): the exact JSON text that was signed
 * and the 64-byte raw r‖s ECDSA-P256 signature. The text is kept byte for byte as served:
 * re-serializing it would break the signature.
 */
public record SignedJson(String json, Bytes signature) {
  private static final JsonFactory JSON = new JsonFactory();

  public SignedJson {
    if (signature.length() != 64) {
      throw new IllegalArgumentException(
          "collateral signature must be 64 bytes (raw r||s), got " + signature.length());
    }
  }

  public byte[] signedBytes() {
    return json.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Splits a PCS response body {@code {"<field>":{…},"signature":"<hex>"}} into the exact text of
   * the inner object (from its '{' to its closing '}', as served) and the signature.
   */
  public static SignedJson fromPcsBody(byte[] body, String field) throws CollateralException {
    int start = -1;
    int end = -1;
    String signatureHex = null;
    try (JsonParser p = JSON.createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new CollateralException("PCS body is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        if (name.equals(field) && t == JsonToken.START_OBJECT && start < 0) {
          start = Math.toIntExact(p.currentTokenLocation().getByteOffset());
          p.skipChildren();
          end = Math.toIntExact(p.currentLocation().getByteOffset());
        } else if (name.equals("signature")
            && t == JsonToken.VALUE_STRING
            && signatureHex == null) {
          signatureHex = p.getText();
        } else {
          throw new CollateralException(
              "unexpected member \"" + name + "\" in PCS " + field + " body");
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw new CollateralException("PCS " + field + " body has trailing content");
      }
    } catch (IOException | ArithmeticException e) {
      throw new CollateralException(
          "PCS " + field + " body is not valid JSON: " + e.getMessage(), e);
    }
    if (start < 0 || signatureHex == null) {
      throw new CollateralException("PCS body lacks \"" + field + "\" or \"signature\"");
    }
    String inner = new String(Arrays.copyOfRange(body, start, end), StandardCharsets.UTF_8);
    return new SignedJson(inner, signatureFromHex(signatureHex, field));
  }

  /**
   * The PCS body form of this document; its inner text is this exact text, so the signature still
   * verifies.
   */
  public byte[] toPcsBody(String field) {
    return ("{\"" + field + "\":" + json + ",\"signature\":\"" + signature.hex() + "\"}")
        .getBytes(StandardCharsets.UTF_8);
  }

  static Bytes signatureFromHex(String hex, String what) throws CollateralException {
    try {
      byte[] sig = HexFormat.of().parseHex(hex.strip());
      if (sig.length != 64) {
        throw new CollateralException(what + " signature must be 64 bytes, got " + sig.length);
      }
      return Bytes.copyOf(sig);
    } catch (IllegalArgumentException e) {
      throw new CollateralException(what + " signature is not hex", e);
    }
  }
}
