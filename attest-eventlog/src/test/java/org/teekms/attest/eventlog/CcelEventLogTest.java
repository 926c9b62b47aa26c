package org.teekms.attest.eventlog;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.teekms.attest.Fixtures;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;

/**
 * The real CCEL of a COS-113 TD (go-tdx-guest fixture) replays to its quote's RTMR0-2
 * (expected/gtg_ccel_replay.json).
 */
class CcelEventLogTest {
  private static final byte[] TABLE = Fixtures.bytes("go-tdx-guest/ccel/ccel_table.dat");
  private static final byte[] DATA = Fixtures.bytes("go-tdx-guest/ccel/ccel_data.dat");

  @Test
  void realCcelReplaysToTheQuotesRtmrs() throws Exception {
    CcelEventLog.Table table = CcelEventLog.parseTable(TABLE);
    assertEquals(CcelEventLog.CC_TYPE_TDX, table.ccType());
    assertEquals(262144, table.logAreaMinimumLength());
    List<EventLogEntry> log = CcelEventLog.parse(TABLE, DATA);
    assertTrue(
        log.size() > 30 && log.size() <= 44, "44 records minus EV_NO_ACTION ones: " + log.size());
    assertTrue(
        log.stream().allMatch(e -> e.imr() <= 2 && e.eventType() != CcelEventLog.EV_NO_ACTION));
    TdReport td =
        TdxQuote.parse(Fixtures.bytes("go-tdx-guest/ccel/cos-113-tdx-quote.dat")).tdReport();
    RtmrReplay replay = RtmrReplay.replay(log);
    HexFormat hex = HexFormat.of();
    assertEquals(
        "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6",
        hex.formatHex(replay.rtmr(0)));
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(td.rtmrs().get(i).toByteArray(), replay.rtmr(i), "RTMR" + i);
    }
    // The converted log survives the dstack JSON round trip unchanged (what an RA-TLS certificate
    // carries).
    assertEquals(log, DstackEventLogCodec.parse(DstackEventLogCodec.toJson(log)));
  }

  @Test
  void tableChecks() {
    byte[] wrongSum = TABLE.clone();
    wrongSum[20] ^= 1;
    assertTrue(msg(() -> CcelEventLog.parseTable(wrongSum)).contains("checksum"));
    byte[] sev = TABLE.clone();
    sev[36] = 1;
    sev[9] = (byte) (sev[9] + 1); // keep the checksum right: only the CC type is wrong
    assertTrue(msg(() -> CcelEventLog.parseTable(sev)).contains("CC type is 1"));
    byte[] sig = TABLE.clone();
    sig[0] = 'X';
    assertTrue(msg(() -> CcelEventLog.parseTable(sig)).contains("signature"));
    assertTrue(msg(() -> CcelEventLog.parseTable(Arrays.copyOf(TABLE, 40))).contains("40 bytes"));
  }

  /** Bytes of the fixture's log area in use (up to the 0xFF terminator). */
  private static final int USED = 18101;

  @ParameterizedTest(name = "cut at {0}")
  @ValueSource(ints = {0, 3, 31, 70, 100, 5000, USED - 1})
  void aTruncatedLogIsRefused(int cut) {
    byte[] t = Arrays.copyOf(DATA, cut);
    assertTrue(msg(() -> CcelEventLog.parse(t)).contains("truncated"), "cut at " + cut);
  }

  @Test
  void oversizedAndForeignLogsAreRefusedAndPaddingEndsALog() throws Exception {
    int used = USED;
    // Ends cleanly at the 0xFF terminator and at zero padding.
    assertEquals(CcelEventLog.parse(DATA), CcelEventLog.parse(Arrays.copyOf(DATA, used)));
    byte[] zeroPadded = Arrays.copyOf(Arrays.copyOf(DATA, used), used + 4096);
    assertEquals(CcelEventLog.parse(DATA), CcelEventLog.parse(zeroPadded));
    assertTrue(
        msg(() -> CcelEventLog.parse(new byte[CcelEventLog.MAX_LOG_AREA_BYTES + 1]))
            .contains("limit"));
    byte[] notAgile = DATA.clone();
    notAgile[4] = 4; // EV_SEPARATOR instead of EV_NO_ACTION
    assertTrue(msg(() -> CcelEventLog.parse(notAgile)).contains("crypto-agile"));
    byte[] badIndex = DATA.clone();
    int second = 4 + 4 + 20 + 4 + 0x21; // first TCG_PCR_EVENT2 record follows the Spec ID event
    badIndex[second] = 9;
    assertTrue(msg(() -> CcelEventLog.parse(badIndex)).contains("index 9"));
    byte[] hugeEvent = DATA.clone();
    // record 1: index, type, count=1, alg(2) + 48 digest, then size
    int sizeAt = second + 4 + 4 + 4 + 2 + 48;
    hugeEvent[sizeAt + 3] = 0x7f;
    assertTrue(msg(() -> CcelEventLog.parse(hugeEvent)).contains("limit"));
  }

  @Test
  void seededMutationsNeverThrowUncheckedAndFlippedDigestsReplayElsewhere() throws Exception {
    TdReport td =
        TdxQuote.parse(Fixtures.bytes("go-tdx-guest/ccel/cos-113-tdx-quote.dat")).tdReport();
    byte[] used = Arrays.copyOf(DATA, 18101);
    Random random = new Random(0xCCE1);
    int parsedAndDiffered = 0;
    for (int i = 0; i < 3000; i++) {
      byte[] m = used.clone();
      int flips = 1 + random.nextInt(4);
      for (int f = 0; f < flips; f++) {
        m[random.nextInt(m.length)] ^= (byte) (1 << random.nextInt(8));
      }
      try {
        List<EventLogEntry> log = CcelEventLog.parse(m);
        RtmrReplay r = RtmrReplay.replay(log);
        boolean same = true;
        for (int k = 0; k < 3; k++) {
          same &= Arrays.equals(r.rtmr(k), td.rtmrs().get(k).toByteArray());
        }
        if (!same) {
          parsedAndDiffered++; // a flipped digest replays elsewhere; flips in event data are not
          // measured
        }
      } catch (EventLogException expected) {
        // refused with a reason
      }
    }
    assertTrue(
        parsedAndDiffered > 100, "digest flips parse but replay elsewhere: " + parsedAndDiffered);
  }

  private static String msg(org.junit.jupiter.api.function.Executable e) {
    return assertThrows(EventLogException.class, e).getMessage();
  }
}
