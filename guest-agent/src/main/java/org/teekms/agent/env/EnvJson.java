package org.teekms.agent.env;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.teekms.agent.env.EnvSecretException.Reason;

/**
 * The plaintext of an encrypted environment, exactly as dstack's SDK writes it ({@code
 * JSON.stringify({env: envs})}): {@code {"env":[{"key":"NAME","value":"…"},…]}}.
 *
 * <p>Parsing checks, the first failure is the reason (all {@link Reason#ENV_PLAINTEXT_INVALID}; no
 * message holds a value, and a name is shown only once it passed the name rule):
 *
 * <ol>
 *   <li>valid UTF-8 JSON, one object, nothing after it, no duplicate keys in any object;
 *   <li>the object has exactly the field {@code env}, an array of at most {@link #MAX_ITEMS}
 *       objects;
 *   <li>each item has exactly {@code key} and {@code value}, both strings;
 *   <li>each name follows {@link EnvVar#validName}; each value is at most {@link
 *       EnvVar#MAX_VALUE_BYTES} bytes;
 *   <li>no name twice (dstack keeps the last one silently; we refuse);
 *   <li>all names and values together at most {@link #MAX_TOTAL_BYTES} bytes.
 * </ol>
 *
 * Unknown fields are refused (dstack ignores them): nothing the SDK writes is lost, and nothing
 * unexpected is accepted.
 */
public final class EnvJson {
  public static final int MAX_ITEMS = 1024;
  public static final int MAX_TOTAL_BYTES = 1024 * 1024;
  private static final JsonFactory JSON =
      JsonFactory.builder()
          .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(8)
                  .maxStringLength(EnvVar.MAX_VALUE_BYTES * 6 + 16)
                  .build())
          .build();

  private EnvJson() {}

  /** dstack's plaintext for {@code vars}, in the given order (compact JSON, as JSON.stringify). */
  public static byte[] encode(List<EnvVar> vars) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeArrayFieldStart("env");
      for (EnvVar v : vars) {
        g.writeStartObject();
        g.writeStringField("key", v.name());
        g.writeStringField("value", v.value());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException("writing JSON to memory failed", e);
    }
    return out.toByteArray();
  }

  /** Parses and checks a decrypted plaintext (list above). */
  public static List<EnvVar> decode(byte[] plaintext) throws EnvSecretException {
    if (plaintext.length > MAX_TOTAL_BYTES * 2) {
      throw invalid(
          "plaintext is " + plaintext.length + " bytes (at most " + MAX_TOTAL_BYTES * 2 + ")");
    }
    try {
      StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(plaintext));
    } catch (java.nio.charset.CharacterCodingException e) {
      throw invalid("plaintext is not UTF-8");
    }
    try (JsonParser p = JSON.createParser(plaintext)) {
      expect(p.nextToken(), JsonToken.START_OBJECT, "the plaintext must be a JSON object");
      List<EnvVar> vars = null;
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        if (!"env".equals(p.currentName())) {
          throw invalid("unknown top-level field (only \"env\" is allowed)");
        }
        vars = items(p);
      }
      expect(t, JsonToken.END_OBJECT, "malformed top-level object");
      if (p.nextToken() != null) {
        throw invalid("data after the JSON object");
      }
      if (vars == null) {
        throw invalid("field \"env\" is missing");
      }
      return vars;
    } catch (JsonProcessingException e) {
      // Jackson's message can quote the input: report the position only.
      throw invalid("not valid JSON (at byte " + e.getLocation().getByteOffset() + ")");
    } catch (IOException e) {
      throw invalid("not valid JSON");
    }
  }

  private static List<EnvVar> items(JsonParser p) throws IOException, EnvSecretException {
    expect(p.nextToken(), JsonToken.START_ARRAY, "\"env\" must be an array");
    List<EnvVar> vars = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    long total = 0;
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      int index = vars.size();
      if (index >= MAX_ITEMS) {
        throw invalid("more than " + MAX_ITEMS + " variables");
      }
      expect(t, JsonToken.START_OBJECT, "variable #" + index + " must be an object");
      String name = null;
      String value = null;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken v = p.nextToken();
        if (v != JsonToken.VALUE_STRING) {
          throw invalid("variable #" + index + ": \"" + safeField(field) + "\" must be a string");
        }
        switch (field) {
          case "key" -> name = p.getText();
          case "value" -> value = p.getText();
          default ->
              throw invalid(
                  "variable #"
                      + index
                      + ": unknown field (only \"key\" and \"value\" are allowed)");
        }
      }
      expect(t, JsonToken.END_OBJECT, "variable #" + index + " is malformed");
      if (name == null || value == null) {
        throw invalid("variable #" + index + ": \"key\" and \"value\" are both required");
      }
      if (!EnvVar.validName(name)) {
        throw invalid(
            "variable #"
                + index
                + ": invalid name (must match [A-Za-z_][A-Za-z0-9_]*, at most "
                + EnvVar.MAX_NAME_BYTES
                + " bytes)");
      }
      int valueBytes = value.getBytes(StandardCharsets.UTF_8).length;
      if (valueBytes > EnvVar.MAX_VALUE_BYTES) {
        throw invalid(
            "variable "
                + name
                + ": value is "
                + valueBytes
                + " bytes (at most "
                + EnvVar.MAX_VALUE_BYTES
                + ")");
      }
      if (!seen.add(name)) {
        throw invalid("variable " + name + " appears twice");
      }
      total += name.length() + valueBytes;
      if (total > MAX_TOTAL_BYTES) {
        throw invalid("names and values exceed " + MAX_TOTAL_BYTES + " bytes");
      }
      vars.add(new EnvVar(name, value));
    }
    return vars;
  }

  private static String safeField(String field) {
    return field.equals("key") || field.equals("value") ? field : "?";
  }

  private static void expect(JsonToken got, JsonToken want, String why) throws EnvSecretException {
    if (got != want) {
      throw invalid(why);
    }
  }

  private static EnvSecretException invalid(String why) {
    return new EnvSecretException(Reason.ENV_PLAINTEXT_INVALID, "decrypted environment: " + why);
  }
}
