package org.teekms.attest.eventlog;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The runtime events dstack's guest records in a TD ({@code /run/log/dstack/runtime_events.log}):
 * one JSON object per line, {@code {"event": name, "payload": base64, "version": 1}} ({@code
 * version} optional, 1 when absent), each already extended into RTMR3 with its version-1 digest.
 * Version-2 (JCS) digests are refused, as everywhere in tee-kms (docs/ra-tls.md §1.2). Strict and
 * bounded like {@link DstackEventLogCodec}.
 */
public final class DstackRuntimeEventFile {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> FIELDS = Set.of("event", "payload", "version");

  private DstackRuntimeEventFile() {}

  public static List<EventLogEntry> parse(byte[] file) throws EventLogException {
    if (file.length > DstackEventLogCodec.MAX_LOG_BYTES) {
      throw new EventLogException(
          "runtime event log is "
              + file.length
              + " bytes, limit "
              + DstackEventLogCodec.MAX_LOG_BYTES);
    }
    List<EventLogEntry> events = new ArrayList<>();
    String[] lines = new String(file, StandardCharsets.UTF_8).split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].isBlank()) {
        continue;
      }
      if (events.size() == DstackEventLogCodec.MAX_EVENTS) {
        throw new EventLogException(
            "runtime event log has more than " + DstackEventLogCodec.MAX_EVENTS + " events");
      }
      events.add(line(i + 1, lines[i]));
    }
    return List.copyOf(events);
  }

  private static EventLogEntry line(int number, String text) throws EventLogException {
    String where = "runtime event log line " + number + ": ";
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new EventLogException(where + "not JSON: " + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      throw new EventLogException(where + "not a JSON object");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!FIELDS.contains(f)) {
        throw new EventLogException(where + "unknown field '" + f + "'");
      }
    }
    JsonNode version = node.get("version");
    if (version != null && !(version.isIntegralNumber() && version.asLong() == 1)) {
      throw new EventLogException(
          where
              + "event version "
              + version
              + ": only version-1 digests are verified "
              + "(dstack's version-2 JCS digests are not accepted)");
    }
    JsonNode name = node.get("event");
    JsonNode payload = node.get("payload");
    if (name == null
        || !name.isTextual()
        || name.textValue().length() > DstackEventLogCodec.MAX_NAME_CHARS) {
      throw new EventLogException(
          where
              + "event must be a string of at most "
              + DstackEventLogCodec.MAX_NAME_CHARS
              + " characters");
    }
    if (payload == null
        || !payload.isTextual()
        || payload.textValue().length() > (DstackEventLogCodec.MAX_PAYLOAD_BYTES + 2) / 3 * 4) {
      throw new EventLogException(
          where
              + "payload must be base64 of at most "
              + DstackEventLogCodec.MAX_PAYLOAD_BYTES
              + " bytes");
    }
    try {
      return EventLogEntry.runtime(
          name.textValue(), Base64.getDecoder().decode(payload.textValue()));
    } catch (IllegalArgumentException e) {
      throw new EventLogException(where + "payload is not base64");
    }
  }

  /** One line of the file (without its newline), as dstack's guest writes it. */
  public static String line(String name, byte[] payload) {
    ObjectNode o = JSON.createObjectNode();
    o.put("event", name);
    o.put("payload", Base64.getEncoder().encodeToString(payload));
    try {
      return JSON.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("serializing a JSON tree cannot fail", e);
    }
  }
}
