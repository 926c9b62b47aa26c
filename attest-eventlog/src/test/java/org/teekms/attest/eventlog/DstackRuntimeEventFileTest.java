package org.teekms.attest.eventlog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DstackRuntimeEventFileTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void readsDstackLinesAsRuntimeEvents() throws Exception {
    // dstack's own serialization: base64 payload, version absent (= 1) or 1; blank lines ignored
    String file =
        "{\"event\":\"app-id\",\"payload\":\"3q2+7w==\"}\n\n"
            + "{\"event\":\"boot-mr-done\",\"payload\":\"\",\"version\":1}\n"
            + DstackRuntimeEventFile.line("key-provider", utf8("{\"name\":\"kms\"}"))
            + "\n";
    List<EventLogEntry> events = DstackRuntimeEventFile.parse(utf8(file));
    assertEquals(
        List.of(
            EventLogEntry.runtime(
                "app-id", new byte[] {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef}),
            EventLogEntry.runtime("boot-mr-done", new byte[0]),
            EventLogEntry.runtime("key-provider", utf8("{\"name\":\"kms\"}"))),
        events);
    assertEquals(List.of(), DstackRuntimeEventFile.parse(new byte[0]));
  }

  @Test
  void refusesWhatItCannotVerify() {
    assertTrue(msg("{\"event\":\"x\",\"payload\":\"\",\"version\":2}").contains("version-2"));
    assertTrue(msg("{\"event\":\"x\",\"payload\":\"\",\"extra\":1}").contains("unknown field"));
    assertTrue(msg("{\"event\":\"x\",\"payload\":\"!!\"}").contains("base64"));
    assertTrue(msg("{\"event\":1,\"payload\":\"\"}").contains("event must be"));
    assertTrue(msg("{\"event\":\"x\"}").contains("payload must be"));
    assertTrue(msg("[1]").contains("line 1: not a JSON object"));
    assertTrue(msg("{\"event\":\"x\",\"payload\":\"\"}\n{\"event\":").contains("line 2: not JSON"));
    assertTrue(
        msg("{\"event\":\""
                + "n".repeat(DstackEventLogCodec.MAX_NAME_CHARS + 1)
                + "\",\"payload\":\"\"}")
            .contains("at most"));
    assertTrue(msg("\n".repeat(DstackEventLogCodec.MAX_LOG_BYTES + 1)).contains("limit"));
    assertTrue(
        msg((DstackRuntimeEventFile.line("e", new byte[0]) + "\n")
                .repeat(DstackEventLogCodec.MAX_EVENTS + 1))
            .contains("more than"));
  }

  @Test
  void seededMutationsNeverThrowUnchecked() {
    byte[] good =
        utf8(
            DstackRuntimeEventFile.line("app-id", new byte[20])
                + "\n"
                + DstackRuntimeEventFile.line("compose-hash", new byte[32])
                + "\n");
    Random random = new Random(7);
    for (int i = 0; i < 5000; i++) {
      byte[] m = good.clone();
      m[random.nextInt(m.length)] = (byte) random.nextInt(256);
      try {
        DstackRuntimeEventFile.parse(m);
      } catch (EventLogException expected) {
        // refused with a reason
      }
    }
  }

  private static String msg(String file) {
    return assertThrows(EventLogException.class, () -> DstackRuntimeEventFile.parse(utf8(file)))
        .getMessage();
  }
}
