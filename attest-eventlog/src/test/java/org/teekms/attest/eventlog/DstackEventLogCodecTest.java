package org.teekms.attest.eventlog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DstackEventLogCodecTest {

  @Test
  void roundTripsTheFixture() throws Exception {
    String json = EventLogVerifierTest.dstackEventLog();
    List<EventLogEntry> log = DstackEventLogCodec.parse(json);
    assertEquals(28, log.size());
    assertEquals(log, DstackEventLogCodec.parse(DstackEventLogCodec.toJson(log)));
  }

  static String reject(String json) {
    return assertThrows(EventLogException.class, () -> DstackEventLogCodec.parse(json))
        .getMessage();
  }

  @Test
  void rejectsMalformedEntries() {
    String ok = "{\"imr\":3,\"event_type\":134217729,\"event\":\"x\",\"event_payload\":\"\"}";
    assertEquals(1, assertDoesParse("[" + ok + "]").size());
    assertTrue(reject("{}").contains("must be a JSON array"));
    assertTrue(reject("[1]").contains("not a JSON object"));
    assertTrue(
        reject("[" + ok.replace("}", ",\"extra\":1}") + "]").contains("unknown field 'extra'"));
    assertTrue(reject("[" + ok.replace("\"imr\":3", "\"imr\":4") + "]").contains("imr must be"));
    assertTrue(
        reject("[" + ok.replace("\"imr\":3", "\"imr\":\"3\"") + "]").contains("imr must be"));
    assertTrue(reject("[" + ok.replace("134217729", "4294967296") + "]").contains("event_type"));
    assertTrue(
        reject("[" + ok.replace("\"event_payload\":\"\"", "\"event_payload\":\"abc\"") + "]")
            .contains("not valid hex"));
    assertTrue(reject("[" + ok.replace(",\"event\":\"x\"", "") + "]").contains("missing event"));
    assertTrue(reject("[" + ok.replace("134217729", "6") + "]").contains("missing digest"));
    assertTrue(reject("[" + ok.replace("}", ",\"digest\":\"00\"}") + "]").contains("expected 48"));
    assertTrue(reject("[" + ok).contains("not valid JSON"));
  }

  static List<EventLogEntry> assertDoesParse(String json) {
    try {
      return DstackEventLogCodec.parse(json);
    } catch (EventLogException e) {
      return fail(e);
    }
  }

  @Test
  void enforcesSizeLimits() {
    String ev = "{\"imr\":3,\"event_type\":134217729,\"event\":\"x\",\"event_payload\":\"\"}";
    StringBuilder many = new StringBuilder("[");
    for (int i = 0; i <= DstackEventLogCodec.MAX_EVENTS; i++) {
      many.append(i == 0 ? "" : ",").append(ev);
    }
    assertTrue(reject(many + "]").contains("limit " + DstackEventLogCodec.MAX_EVENTS));
    assertTrue(
        reject("[" + ev.replace("\"x\"", "\"" + "n".repeat(257) + "\"") + "]")
            .contains("longer than 256"));
    assertTrue(
        reject(
                "["
                    + ev.replace(
                        "\"event_payload\":\"\"",
                        "\"event_payload\":\""
                            + "00".repeat(DstackEventLogCodec.MAX_PAYLOAD_BYTES + 1)
                            + "\"")
                    + "]")
            .contains("longer than"));
    byte[] huge = new byte[DstackEventLogCodec.MAX_LOG_BYTES + 1];
    assertThrows(EventLogException.class, () -> DstackEventLogCodec.parse(huge));
  }

  @Test
  void truncationsAndMutationsNeverThrowUncheckedAndNeverVerify() throws Exception {
    byte[] json = EventLogVerifierTest.dstackEventLog().getBytes(StandardCharsets.UTF_8);
    QuotedMeasurements quoted = EventLogVerifierTest.dstackQuoted();
    Random random = new Random(4);
    int verified = 0;
    for (int round = 0; round < 3000; round++) {
      byte[] m;
      if (round % 3 == 0) {
        m = java.util.Arrays.copyOf(json, random.nextInt(json.length));
      } else {
        m = json.clone();
        int flips = 1 + random.nextInt(3);
        for (int f = 0; f < flips; f++) {
          m[random.nextInt(m.length)] = (byte) random.nextInt(256);
        }
      }
      try {
        List<EventLogEntry> log = DstackEventLogCodec.parse(m);
        EventLogVerifier.verify(log, quoted);
        if (!sameMeasuredContent(log, DstackEventLogCodec.parse(json))) {
          verified++;
        }
      } catch (EventLogException expected) {
        // typed rejection
      }
    }
    assertEquals(0, verified, "a mutated log with different events verified");
  }

  /**
   * A mutation may hit JSON whitespace, hex case, or the informational type/name/payload of a
   * firmware event (RTMR0-2 events extend their digest; their payload is a description, not the
   * measured data): such a log still verifies, legitimately. Everything measured must be unchanged
   * then.
   */
  static boolean sameMeasuredContent(List<EventLogEntry> a, List<EventLogEntry> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      EventLogEntry x = a.get(i);
      EventLogEntry y = b.get(i);
      boolean same =
          x.imr() == y.imr()
              && x.isRuntimeEvent() == y.isRuntimeEvent()
              && (x.isRuntimeEvent()
                  ? x.name().equals(y.name()) && java.util.Arrays.equals(x.payload(), y.payload())
                  : java.util.Arrays.equals(x.digest(), y.digest()));
      if (!same) {
        return false;
      }
    }
    return true;
  }
}
