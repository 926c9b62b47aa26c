package org.teekms.attest.eventlog;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Reads and writes dstack's JSON event log: an array of {@code {"imr": n, "event_type": n,
 * "digest": hex, "event": name, "event_payload": hex}}. Strict and bounded: unknown fields, wrong
 * types, bad hex and anything over the limits below are errors.
 */
public final class DstackEventLogCodec {
  /** Largest accepted log, as UTF-8 JSON. */
  public static final int MAX_LOG_BYTES = 512 * 1024;

  public static final int MAX_EVENTS = 1024;
  public static final int MAX_NAME_CHARS = 256;
  public static final int MAX_PAYLOAD_BYTES = 64 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> FIELDS =
      Set.of("imr", "event_type", "digest", "event", "event_payload");
  private static final HexFormat HEX = HexFormat.of();

  private DstackEventLogCodec() {}

  public static List<EventLogEntry> parse(byte[] utf8Json) throws EventLogException {
    if (utf8Json.length > MAX_LOG_BYTES) {
      throw new EventLogException(
          "event log is " + utf8Json.length + " bytes, limit " + MAX_LOG_BYTES);
    }
    return parse(new String(utf8Json, StandardCharsets.UTF_8));
  }

  public static List<EventLogEntry> parse(String json) throws EventLogException {
    if (json.length() > MAX_LOG_BYTES) {
      throw new EventLogException(
          "event log is " + json.length() + " characters, limit " + MAX_LOG_BYTES);
    }
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new EventLogException("event log is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isArray()) {
      throw new EventLogException("event log must be a JSON array");
    }
    if (root.size() > MAX_EVENTS) {
      throw new EventLogException("event log has " + root.size() + " events, limit " + MAX_EVENTS);
    }
    List<EventLogEntry> entries = new ArrayList<>(root.size());
    for (int i = 0; i < root.size(); i++) {
      entries.add(parseEntry(i, root.get(i)));
    }
    return List.copyOf(entries);
  }

  private static EventLogEntry parseEntry(int index, JsonNode node) throws EventLogException {
    String where = "event " + index + ": ";
    if (!node.isObject()) {
      throw new EventLogException(where + "not a JSON object");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!FIELDS.contains(field)) {
        throw new EventLogException(where + "unknown field '" + field + "'");
      }
    }
    long imr = uint(where, node, "imr", 3);
    long type = uint(where, node, "event_type", 0xFFFF_FFFFL);
    String name = text(where, node, "event", MAX_NAME_CHARS);
    byte[] payload = hex(where, node, "event_payload", MAX_PAYLOAD_BYTES);
    byte[] digest = null;
    boolean runtime = type == RuntimeEventDigest.DSTACK_RUNTIME_EVENT_TYPE;
    JsonNode d = node.get("digest");
    if (runtime && d != null && d.isTextual() && d.textValue().isEmpty()) {
      // dstack 0.6 guests log runtime events without their digest; the replay computes it from name
      // and payload.
      digest = null;
    } else if (d != null && !d.isNull()) {
      digest = hex(where, node, "digest", RuntimeEventDigest.DIGEST_LENGTH);
      if (digest.length != RuntimeEventDigest.DIGEST_LENGTH) {
        throw new EventLogException(
            where + "digest is " + digest.length + " bytes, expected 48 (SHA-384)");
      }
    } else if (!runtime) {
      throw new EventLogException(where + "missing digest (required for non-runtime events)");
    }
    return new EventLogEntry((int) imr, type, digest, name, payload);
  }

  private static long uint(String where, JsonNode node, String field, long max)
      throws EventLogException {
    JsonNode v = node.get(field);
    if (v == null) {
      throw new EventLogException(where + "missing " + field);
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() > max) {
      throw new EventLogException(where + field + " must be an integer in 0.." + max);
    }
    return v.asLong();
  }

  private static String text(String where, JsonNode node, String field, int maxChars)
      throws EventLogException {
    JsonNode v = node.get(field);
    if (v == null) {
      throw new EventLogException(where + "missing " + field);
    }
    if (!v.isTextual()) {
      throw new EventLogException(where + field + " must be a string");
    }
    if (v.textValue().length() > maxChars) {
      throw new EventLogException(where + field + " longer than " + maxChars + " characters");
    }
    return v.textValue();
  }

  private static byte[] hex(String where, JsonNode node, String field, int maxBytes)
      throws EventLogException {
    String s = text(where, node, field, maxBytes * 2);
    try {
      return HEX.parseHex(s);
    } catch (IllegalArgumentException e) {
      throw new EventLogException(where + field + " is not valid hex");
    }
  }

  /** The dstack JSON form of a log (digests of runtime events are written as computed). */
  public static String toJson(List<EventLogEntry> entries) {
    ArrayNode array = JSON.createArrayNode();
    for (EventLogEntry e : entries) {
      ObjectNode o = array.addObject();
      o.put("imr", e.imr());
      o.put("event_type", e.eventType());
      byte[] digest =
          e.isRuntimeEvent() ? RuntimeEventDigest.v1(e.name(), e.payload()) : e.digest();
      o.put("digest", HEX.formatHex(digest));
      o.put("event", e.name());
      o.put("event_payload", HEX.formatHex(e.payload()));
    }
    try {
      return JSON.writeValueAsString(array);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("serializing a JSON tree cannot fail", e);
    }
  }
}
