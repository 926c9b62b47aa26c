package org.teekms.agent.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import java.util.Optional;

/**
 * Coverage-guided fuzz target (Jazzer) for the signing proxy's server-sent-event scanner, fed the
 * upstream's stream split into chunks at fuzz-chosen points (the first input byte picks the chunk
 * size). Corpus: {@code src/test/resources/org/teekms/agent/proxy/SseFuzzTestInputs/sseChatId/}. It
 * never throws, and every id it reports for one stream is the same (the first event's).
 */
class SseFuzzTest {
  @FuzzTest
  void sseChatId(byte[] data) {
    if (data.length == 0) {
      return;
    }
    int chunk = 1 + (data[0] & 0xff);
    SseChatId scanner = new SseChatId();
    Optional<String> first = Optional.empty();
    for (int i = 1; i < data.length; i += chunk) {
      Optional<String> id =
          scanner.feed(Arrays.copyOfRange(data, i, Math.min(data.length, i + chunk)));
      assertNotNull(id);
      if (first.isEmpty()) {
        first = id;
      } else if (id.isPresent()) {
        assertEquals(first, id, "the chat id changed within one stream");
      }
    }
  }
}
