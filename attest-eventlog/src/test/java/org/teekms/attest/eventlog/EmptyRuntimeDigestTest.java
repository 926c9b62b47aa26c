package org.teekms.attest.eventlog;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.attest.Fixtures;
import org.teekms.attest.tdx.TdxQuote;

/**
 * dstack 0.6 guests log RTMR3 runtime events with an empty digest; the replay computes it from name
 * and payload.
 */
class EmptyRuntimeDigestTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode capture() throws Exception {
    return JSON.readTree(Fixtures.bytes("dstack/tdx-lite-getquote.json"));
  }

  private static QuotedMeasurements quoted(JsonNode capture) throws Exception {
    return QuotedMeasurements.of(
        TdxQuote.parse(
                TdxQuote.decodeFile(capture.get("quote").asText().getBytes(StandardCharsets.UTF_8)))
            .tdReport());
  }

  @Test
  void realDstack06LogWithEmptyRuntimeDigestsReplaysToTheQuotesRtmr3() throws Exception {
    JsonNode c = capture();
    List<EventLogEntry> log = DstackEventLogCodec.parse(c.get("event_log").asText());
    long empty = log.stream().filter(e -> e.isRuntimeEvent() && e.digest() == null).count();
    assertEquals(9, empty, "every runtime event of the capture comes without a digest");
    VerifiedEventLog v = EventLogVerifier.verify(log, quoted(c));
    assertEquals(List.of(0, 1, 2, 3), v.replayedRegisters());
    assertEquals("86b0e55f2fa8e4fb69d890f14f54d5612707646e", v.identity().appId().hex());
    assertEquals(
        "86b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9",
        v.identity().composeHash().hex());
  }

  @Test
  void anEmptyDigestEventWhosePayloadWasChangedFailsTheRtmr3Replay() throws Exception {
    JsonNode c = capture();
    ArrayNode log = (ArrayNode) JSON.readTree(c.get("event_log").asText());
    for (JsonNode e : log) {
      if (e.get("event").asText().equals("compose-hash")) {
        ((ObjectNode) e).put("event_payload", "00".repeat(32));
        assertEquals("", e.get("digest").asText());
      }
    }
    List<EventLogEntry> forged = DstackEventLogCodec.parse(JSON.writeValueAsString(log));
    EventLogException ex =
        assertThrows(EventLogException.class, () -> EventLogVerifier.verify(forged, quoted(c)));
    assertTrue(ex.getMessage().startsWith("RTMR3 mismatch"), ex.getMessage());
  }

  @Test
  void anEmptyDigestIsAcceptedOnlyForRuntimeEvents() throws Exception {
    String runtime =
        "[{\"imr\":3,\"event_type\":134217729,\"digest\":\"\",\"event\":\"app-id\",\"event_payload\":\"01\"}]";
    EventLogEntry e = DstackEventLogCodec.parse(runtime).get(0);
    assertNull(e.digest());
    byte[] rtmr3 = RtmrReplay.replay(List.of(e)).rtmr(3);
    assertArrayEquals(
        RuntimeEventDigest.extend(new byte[48], RuntimeEventDigest.v1("app-id", new byte[] {1})),
        rtmr3);
    String firmware =
        runtime.replace("\"imr\":3,\"event_type\":134217729", "\"imr\":0,\"event_type\":10");
    EventLogException ex =
        assertThrows(EventLogException.class, () -> DstackEventLogCodec.parse(firmware));
    assertTrue(ex.getMessage().contains("digest is 0 bytes, expected 48"), ex.getMessage());
  }
}
