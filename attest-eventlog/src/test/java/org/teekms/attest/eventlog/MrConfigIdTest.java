package org.teekms.attest.eventlog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

class MrConfigIdTest {
  static final Bytes COMPOSE = Bytes.fromHex("ab".repeat(32));

  @Test
  void versionOneIsTheTagThenTheComposeHashThenFifteenZeros() {
    assertEquals(
        "01" + "ab".repeat(32) + "00".repeat(15),
        HexFormat.of().formatHex(MrConfigId.v1(COMPOSE.toByteArray())));
    assertThrows(IllegalArgumentException.class, () -> MrConfigId.v1(new byte[31]));
  }

  @Test
  void aRealDstackCaptureIsLaunchedWithVersionOneOfTheComposeItMeasures() throws Exception {
    // testdata/dstack/tdx-lite-getquote.json: dstack 0.6.0, its VMM set MRCONFIGID; the layout is
    // confirmed here
    var capture =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(org.teekms.attest.Fixtures.bytes("dstack/tdx-lite-getquote.json"));
    var td =
        org.teekms.attest.tdx.TdxQuote.parse(
                org.teekms.attest.tdx.TdxQuote.decodeFile(
                    capture
                        .get("quote")
                        .asText()
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8)))
            .tdReport();
    VerifiedEventLog v =
        EventLogVerifier.verify(
            DstackEventLogCodec.parse(capture.get("event_log").asText()),
            QuotedMeasurements.of(td));
    assertEquals(
        Bytes.copyOf(MrConfigId.v1(v.identity().composeHash().toByteArray())), td.mrConfigId());
    assertTrue(MrConfigId.mismatch(td.mrConfigId(), v.identity().composeHash()).isEmpty());
    assertTrue(MrConfigId.mismatch(td.mrConfigId(), COMPOSE).isPresent());
  }

  @Test
  void aZeroMrConfigIdIsUnsetAndAccepted() {
    assertTrue(MrConfigId.mismatch(Bytes.copyOf(new byte[48]), COMPOSE).isEmpty());
  }

  @Test
  void theBindingOfTheMeasuredComposeIsAccepted() {
    assertTrue(
        MrConfigId.mismatch(Bytes.copyOf(MrConfigId.v1(COMPOSE.toByteArray())), COMPOSE).isEmpty());
  }

  @Test
  void aBindingOfAnotherComposeIsRefusedNamingBoth() {
    Bytes other = Bytes.copyOf(MrConfigId.v1(new byte[32]));
    String why = MrConfigId.mismatch(other, COMPOSE).orElseThrow();
    assertTrue(why.contains(other.hex()) && why.contains(COMPOSE.hex()), why);
  }

  @Test
  void nonZeroPaddingIsRefused() {
    byte[] id = MrConfigId.v1(COMPOSE.toByteArray());
    id[47] = 1;
    assertTrue(MrConfigId.mismatch(Bytes.copyOf(id), COMPOSE).isPresent());
  }

  @Test
  void versionsWeCannotCheckAreRefusedNotSkipped() {
    for (int version : new int[] {2, 3, 0x7f}) {
      byte[] id = MrConfigId.v1(COMPOSE.toByteArray());
      id[0] = (byte) version;
      String why = MrConfigId.mismatch(Bytes.copyOf(id), COMPOSE).orElseThrow();
      assertTrue(why.contains("version " + version), why);
    }
    assertTrue(
        MrConfigId.mismatch(Bytes.copyOf(new byte[32]), COMPOSE).orElseThrow().contains("not 48"));
  }
}
