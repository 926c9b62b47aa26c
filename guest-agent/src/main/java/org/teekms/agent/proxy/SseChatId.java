package org.teekms.agent.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Finds the chat id in a server-sent event stream: the {@code id} of the first {@code data:} JSON
 * event. Looks at no more than the first {@value #MAX_SCAN} bytes.
 */
final class SseChatId {
  static final int MAX_SCAN = 64 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();
  private final ByteArrayOutputStream seen = new ByteArrayOutputStream();
  private boolean gaveUp;

  Optional<String> feed(byte[] chunk) {
    if (gaveUp) {
      return Optional.empty();
    }
    seen.write(chunk, 0, Math.min(chunk.length, MAX_SCAN - seen.size()));
    String text = seen.toString(StandardCharsets.UTF_8).replace("\r\n", "\n");
    int start = 0;
    int end;
    while ((end = text.indexOf("\n\n", start)) >= 0) {
      StringBuilder data = new StringBuilder();
      for (String line : text.substring(start, end).split("\n")) {
        if (line.startsWith("data:")) {
          data.append(line.substring(5).strip());
        }
      }
      start = end + 2;
      if (data.length() == 0 || data.toString().equals("[DONE]")) {
        continue;
      }
      try {
        JsonNode n = JSON.readTree(data.toString());
        if (n != null && n.path("id").isTextual()) {
          return Optional.of(n.get("id").asText());
        }
      } catch (Exception e) {
        // not JSON: keep looking
      }
    }
    if (seen.size() >= MAX_SCAN) {
      gaveUp = true;
    }
    return Optional.empty();
  }
}
