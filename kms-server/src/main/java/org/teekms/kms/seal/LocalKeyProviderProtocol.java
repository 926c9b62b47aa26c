package org.teekms.kms.seal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Set;
import org.teekms.crypto.Digests;

/**
 * The wire protocol of dstack's local key provider (docs/sealing.md): one request and one response
 * per TCP connection, each a frame {@code u32be(len) ‖ JSON}, byte strings as JSON arrays of
 * decimal numbers (serde's {@code Vec<u8>}). Request {@code {"quote":[…]}}; response {@code
 * {"encrypted_key":[…],"provider_quote":[…]}}. Parsing is strict: exactly those fields, each
 * element an integer 0..255, nothing after the JSON value.
 *
 * <p>tee-kms requires one change on the provider's side (protocol "v2", docs/sealing.md §2): the
 * provider's SGX quote carries {@link #providerReportData} = {@code SHA-256(encrypted_key) ‖
 * SHA-256("tee-kms/local-sgx/v2/td-quote" ‖ td_quote)}, binding the exact TD quote it verified and
 * derived the key for; dstack's provider leaves the second half zero, which lets the host
 * substitute the quote.
 */
public final class LocalKeyProviderProtocol {

  /** dstack's client refuses quotes over 1 MiB; so do we. */
  public static final int MAX_QUOTE_BYTES = 1024 * 1024;

  /**
   * Largest response frame accepted: an 80-byte sealed key and an SGX quote (a few KiB with its PCK
   * chain), at up to 4 JSON characters a byte. Checked before allocating.
   */
  public static final int MAX_RESPONSE_FRAME = 256 * 1024;

  private static final JsonMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .disable(JsonReadFeature.ALLOW_LEADING_ZEROS_FOR_NUMBERS)
          .build();

  static {
    JSON.getFactory()
        .setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(4).build());
  }

  /** What the provider returns: the sealed key and an SGX quote whose REPORTDATA binds it. */
  public record Response(
      org.teekms.crypto.Bytes encryptedKey, org.teekms.crypto.Bytes providerQuote) {
    public Response(byte[] encryptedKey, byte[] providerQuote) {
      this(
          org.teekms.crypto.Bytes.copyOf(encryptedKey),
          org.teekms.crypto.Bytes.copyOf(providerQuote));
    }
  }

  /** Domain separator of the TD-quote half of the provider's REPORTDATA. */
  public static final String QUOTE_BINDING_DOMAIN = "tee-kms/local-sgx/v2/td-quote";

  private LocalKeyProviderProtocol() {}

  /**
   * The REPORTDATA a v2 provider puts in its SGX quote: {@code SHA-256(encrypted_key) ‖
   * SHA-256(QUOTE_BINDING_DOMAIN ‖ td_quote)}, {@code td_quote} being the exact request bytes it
   * verified and derived the key from.
   */
  public static byte[] providerReportData(byte[] encryptedKey, byte[] tdQuote) {
    byte[] out = new byte[64];
    System.arraycopy(sha256(encryptedKey), 0, out, 0, 32);
    System.arraycopy(
        sha256(QUOTE_BINDING_DOMAIN.getBytes(StandardCharsets.US_ASCII), tdQuote), 0, out, 32, 32);
    return out;
  }

  private static byte[] sha256(byte[]... parts) {
    return Digests.sha256(parts);
  }

  /** The request frame for a TDX quote. */
  public static byte[] requestFrame(byte[] quote) {
    if (quote.length == 0 || quote.length > MAX_QUOTE_BYTES) {
      throw new IllegalArgumentException(
          "quote is " + quote.length + " bytes; allowed 1.." + MAX_QUOTE_BYTES);
    }
    StringBuilder json = new StringBuilder(quote.length * 4 + 16).append("{\"quote\":");
    appendArray(json, quote);
    return frame(json.append('}').toString());
  }

  /** The response frame (the provider's side: tests and the documented vector). */
  public static byte[] responseFrame(Response response) {
    StringBuilder json = new StringBuilder().append("{\"encrypted_key\":");
    appendArray(json, response.encryptedKey().toByteArray());
    json.append(",\"provider_quote\":");
    appendArray(json, response.providerQuote().toByteArray());
    return frame(json.append('}').toString());
  }

  /** Reads one response frame; {@link KeyProviderException} (PROTOCOL) on any deviation. */
  public static Response readResponse(InputStream in) throws IOException {
    byte[] payload = readFrame(in, MAX_RESPONSE_FRAME, "response");
    JsonNode root = parse(payload, "response");
    expectFields(root, Set.of("encrypted_key", "provider_quote"), "response");
    return new Response(
        bytes(root.get("encrypted_key"), "encrypted_key"),
        bytes(root.get("provider_quote"), "provider_quote"));
  }

  /** Reads one request frame (the provider's side: the test fake). */
  public static byte[] readRequest(InputStream in) throws IOException {
    byte[] payload = readFrame(in, 8 * 1024 * 1024, "request");
    JsonNode root = parse(payload, "request");
    expectFields(root, Set.of("quote"), "request");
    return bytes(root.get("quote"), "quote");
  }

  private static byte[] readFrame(InputStream in, int max, String what) throws IOException {
    DataInputStream data = new DataInputStream(in);
    long length;
    byte[] payload;
    try {
      length = Integer.toUnsignedLong(data.readInt());
      if (length == 0 || length > max) {
        throw protocol(what + " frame length " + length + " is outside 1.." + max);
      }
      payload = new byte[(int) length];
      data.readFully(payload);
    } catch (EOFException e) {
      throw protocol(what + " frame truncated: the provider closed the connection early");
    }
    return payload;
  }

  private static JsonNode parse(byte[] payload, String what) {
    try (JsonParser parser = JSON.createParser(payload)) {
      JsonNode root = JSON.readTree(parser);
      if (parser.nextToken() != null) {
        throw protocol(what + " has data after its JSON object");
      }
      if (root == null || !root.isObject()) {
        throw protocol(what + " is not a JSON object");
      }
      return root;
    } catch (JsonProcessingException e) {
      throw protocol(what + " is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw protocol(what + " cannot be read: " + e.getMessage());
    }
  }

  private static void expectFields(JsonNode root, Set<String> fields, String what) {
    for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!fields.contains(name)) {
        throw protocol(what + " has unknown field '" + name + "'");
      }
    }
    for (String field : fields) {
      if (!root.has(field)) {
        throw protocol(what + " lacks field '" + field + "'");
      }
    }
  }

  private static byte[] bytes(JsonNode array, String field) {
    if (!array.isArray()) {
      throw protocol("field '" + field + "' is not an array of bytes");
    }
    byte[] out = new byte[array.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode n = array.get(i);
      if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 0 || n.intValue() > 255) {
        throw protocol("field '" + field + "' element " + i + " is not a byte (integer 0..255)");
      }
      out[i] = (byte) n.intValue();
    }
    return out;
  }

  private static void appendArray(StringBuilder json, byte[] bytes) {
    json.append('[');
    for (int i = 0; i < bytes.length; i++) {
      if (i > 0) {
        json.append(',');
      }
      json.append(bytes[i] & 0xff);
    }
    json.append(']');
  }

  private static byte[] frame(String json) {
    byte[] payload = json.getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream out = new ByteArrayOutputStream(4 + payload.length);
    out.writeBytes(ByteBuffer.allocate(4).putInt(payload.length).array());
    out.writeBytes(payload);
    return out.toByteArray();
  }

  private static KeyProviderException protocol(String detail) {
    return new KeyProviderException(KeyProviderException.Reason.PROTOCOL, detail);
  }
}
