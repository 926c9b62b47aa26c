package org.teekms.attest.eventlog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.attest.Fixtures;

class EventLogVerifierTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HexFormat HEX = HexFormat.of();

  static String dstackEventLog() throws Exception {
    return JSON.readTree(Fixtures.text("dstack/quote-report.json")).get("event_log").asText();
  }

  /**
   * The registers of the dstack fixture quote, read from the quote bytes at the TD 1.0 body
   * offsets.
   */
  static QuotedMeasurements dstackQuoted() throws Exception {
    byte[] q =
        HEX.parseHex(
            JSON.readTree(Fixtures.text("dstack/quote-report.json")).get("quote").asText());
    int body = 48;
    return QuotedMeasurements.of(
        slice(q, body + 136),
        slice(q, body + 328),
        slice(q, body + 376),
        slice(q, body + 424),
        slice(q, body + 472),
        slice(q, body + 184),
        slice(q, body + 232),
        slice(q, body + 280));
  }

  static byte[] slice(byte[] b, int off) {
    return java.util.Arrays.copyOfRange(b, off, off + 48);
  }

  @Test
  void dstackFixtureReplaysAllFourRtmrsAndYieldsTheExpectedIdentity() throws Exception {
    JsonNode expected =
        JSON.readTree(Fixtures.text("expected/dstack_event_log_replay.json"))
            .get("dstack/quote-report.json");
    QuotedMeasurements quoted = dstackQuoted();
    assertEquals(expected.get("quote_rtmrs").get("rtmr3").asText(), HEX.formatHex(quoted.rtmr(3)));
    assertEquals(expected.get("mr_td").asText(), quoted.mrTd().hex());

    VerifiedEventLog v =
        EventLogVerifier.verify(DstackEventLogCodec.parse(dstackEventLog()), quoted);

    for (int i = 0; i < 4; i++) {
      assertEquals(
          expected.get("replayed_rtmrs").get("rtmr" + i).asText(),
          HEX.formatHex(v.replayed().rtmr(i)));
    }
    assertEquals(List.of(0, 1, 2, 3), v.replayedRegisters());
    BootIdentity id = v.identity();
    assertEquals(expected.get("app_id").asText(), id.appId().hex());
    assertEquals(expected.get("compose_hash").asText(), id.composeHash().hex());
    assertEquals(expected.get("instance_id").asText(), id.instanceId().hex());
    assertEquals(
        "{\"name\":\"local-sgx\",\"id\":\"1b7a49378403249b6986a907844cab0921eca32dd47e657f3c10311ccaeccf8b\"}",
        id.keyProvider().orElseThrow());
    assertTrue(id.systemReady());
    assertTrue(id.osImageHash().isEmpty());
    assertTrue(id.gpuEvidenceHash().isEmpty());
    // Test vectors of docs/ra-tls.md (computed independently in Python from the fixture).
    assertEquals(
        "cae24527d80a62638ec88377c85cec4d006877126770c69907b575959beb3208cc67faf4295f44e0ff605ffbe4c38feb",
        HEX.formatHex(
            RtmrReplay.replay(DstackEventLogCodec.parse(dstackEventLog()), "boot-mr-done")
                .rtmr(3)));
    assertEquals(
        "f9a9159f75a175a0a65052b78f764a312456db56f5c397c600d08445ab68937b", v.mrAggregated().hex());
    assertEquals(
        "837c2dd72f8a4c740159e5e042ed79b7eaaa5ab3a151a45e27bc366bb8b27e6c3faec87aab1e95197d3e6d23308d448c",
        HEX.formatHex(
            RuntimeEventDigest.v1(
                "app-id", HEX.parseHex("3763bc34552cf3a27ff71ad5f7a90471562a1a2d"))));
    assertEquals(
        "8e3242f94d406197c84365a337eaece33afd2e1a32e23ad1cf3f06feaa391f987c5a0ec51aae1db002202bff1546ab06",
        HEX.formatHex(RuntimeEventDigest.v1("gpu-evidence", new byte[48])));
  }

  @Test
  void runtimeDigestsAreRecomputedAndMustMatchTheLoggedOnes() throws Exception {
    List<EventLogEntry> log = new ArrayList<>(DstackEventLogCodec.parse(dstackEventLog()));
    // same payload, forged logged digest
    int i = indexOf(log, "app-id");
    EventLogEntry e = log.get(i);
    byte[] forged = e.digest();
    forged[0] ^= 1;
    log.set(i, new EventLogEntry(3, e.eventType(), forged, e.name(), e.payload()));
    EventLogException ex =
        assertThrows(EventLogException.class, () -> EventLogVerifier.verify(log, dstackQuoted()));
    assertTrue(ex.getMessage().contains("logged digest does not match"), ex.getMessage());
  }

  @Test
  void anEditedPayloadNoLongerReplays() throws Exception {
    List<EventLogEntry> log = new ArrayList<>(DstackEventLogCodec.parse(dstackEventLog()));
    int i = indexOf(log, "compose-hash");
    EventLogEntry e = log.get(i);
    byte[] p = e.payload();
    p[31] ^= 1;
    log.set(i, new EventLogEntry(3, e.eventType(), null, e.name(), p));
    EventLogException ex =
        assertThrows(EventLogException.class, () -> EventLogVerifier.verify(log, dstackQuoted()));
    assertTrue(ex.getMessage().startsWith("RTMR3 mismatch"), ex.getMessage());
  }

  @Test
  void anEditedFirmwareDigestBreaksItsRegister() throws Exception {
    List<EventLogEntry> log = new ArrayList<>(DstackEventLogCodec.parse(dstackEventLog()));
    EventLogEntry e = log.get(0);
    byte[] d = e.digest();
    d[5] ^= 0x40;
    log.set(0, new EventLogEntry(e.imr(), e.eventType(), d, e.name(), e.payload()));
    EventLogException ex =
        assertThrows(EventLogException.class, () -> EventLogVerifier.verify(log, dstackQuoted()));
    assertTrue(ex.getMessage().startsWith("RTMR0 mismatch"), ex.getMessage());
  }

  @Test
  void aLogWithoutFirmwareEventsStillChecksRtmr3() throws Exception {
    List<EventLogEntry> log =
        DstackEventLogCodec.parse(dstackEventLog()).stream().filter(e -> e.imr() == 3).toList();
    VerifiedEventLog v = EventLogVerifier.verify(log, dstackQuoted());
    assertEquals(List.of(3), v.replayedRegisters());
  }

  static int indexOf(List<EventLogEntry> log, String name) {
    for (int i = 0; i < log.size(); i++) {
      if (log.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new AssertionError(name);
  }

  // ---- boot-sequence rules, on synthetic runtime logs
  // ------------------------------------------------------

  static List<EventLogEntry> boot(String... extra) {
    List<EventLogEntry> log =
        new ArrayList<>(
            List.of(
                EventLogEntry.runtime("system-preparing", new byte[0]),
                EventLogEntry.runtime("app-id", new byte[20]),
                EventLogEntry.runtime("compose-hash", new byte[32]),
                EventLogEntry.runtime("instance-id", new byte[20]),
                EventLogEntry.runtime("boot-mr-done", new byte[0])));
    for (String name : extra) {
      log.add(EventLogEntry.runtime(name, payloadFor(name)));
    }
    return log;
  }

  static byte[] payloadFor(String name) {
    return switch (name) {
      case "app-id", "instance-id" -> new byte[20];
      case "compose-hash", "os-image-hash", "mr-kms" -> new byte[32];
      case "gpu-evidence", "gpu-devices" -> new byte[48];
      case "key-provider" -> "{\"name\":\"kms\",\"id\":\"ab\"}".getBytes();
      case "storage-fs" -> "zfs".getBytes();
      case "system-ready", "boot-mr-done", "system-preparing" -> new byte[0];
      default -> "x".getBytes();
    };
  }

  static String reject(List<EventLogEntry> log) {
    return assertThrows(EventLogException.class, () -> DstackBootSequence.extract(log))
        .getMessage();
  }

  @Test
  void fullDstackSequenceIsAccepted() throws Exception {
    BootIdentity id =
        DstackBootSequence.extract(
            boot(
                "mr-kms",
                "os-image-hash",
                "key-provider",
                "storage-fs",
                "gpu-evidence",
                "system-ready",
                "my-app-event",
                "gpu-evidence"));
    assertTrue(id.systemReady());
    assertEquals("zfs", id.storageFs().orElseThrow());
    assertEquals(32, id.osImageHash().orElseThrow().length());
    assertTrue(id.gpuEvidenceHash().isPresent());
  }

  @Test
  void gpuDevicesIsMeasuredOnceDuringSetup() throws Exception {
    assertEquals(
        48,
        DstackBootSequence.extract(boot("key-provider", "gpu-devices", "gpu-evidence"))
            .gpuDevices()
            .orElseThrow()
            .length());
    assertTrue(DstackBootSequence.extract(boot("key-provider")).gpuDevices().isEmpty());
    // A second set of GPUs measured later, or one measured after the keys were handed out, is
    // refused.
    assertTrue(reject(boot("gpu-devices", "gpu-devices")).contains("duplicate identity event"));
    assertTrue(
        reject(boot("system-ready", "gpu-devices")).contains("reserved event after system-ready"));
    List<EventLogEntry> early = boot();
    early.add(1, EventLogEntry.runtime("gpu-devices", new byte[48]));
    assertTrue(reject(early).contains("before boot-mr-done"));
    List<EventLogEntry> shortPayload = boot("gpu-devices");
    shortPayload.set(5, EventLogEntry.runtime("gpu-devices", new byte[32]));
    assertTrue(reject(shortPayload).contains("expected 48"));
  }

  @Test
  void stillBootingIsAcceptedButNotReady() throws Exception {
    assertFalse(DstackBootSequence.extract(boot("key-provider")).systemReady());
  }

  @Test
  void boundaryRules() {
    assertTrue(reject(boot("app-id")).contains("identity event after boot-mr-done"));
    assertTrue(
        reject(boot("system-ready", "compose-hash")).contains("reserved event after system-ready"));
    assertTrue(reject(boot("key-provider", "key-provider")).contains("duplicate identity event"));
    assertTrue(
        reject(boot("my-event")).contains("unknown event between boot-mr-done and system-ready"));
    assertTrue(
        reject(boot("system-ready", "system-ready")).contains("reserved event after system-ready"));
    assertTrue(
        reject(boot("system-ready", "boot-mr-done")).contains("reserved event after system-ready"));

    List<EventLogEntry> noDone = boot();
    noDone.remove(4);
    assertTrue(reject(noDone).contains("no boot-mr-done"));

    List<EventLogEntry> dupApp = boot();
    dupApp.add(2, EventLogEntry.runtime("app-id", new byte[20]));
    assertTrue(reject(dupApp).contains("duplicate identity event"));

    List<EventLogEntry> unknownEarly = boot();
    unknownEarly.add(1, EventLogEntry.runtime("surprise", new byte[0]));
    assertTrue(reject(unknownEarly).contains("unknown event before boot-mr-done"));

    List<EventLogEntry> missingCompose = boot();
    missingCompose.remove(2);
    assertTrue(reject(missingCompose).contains("boot-mr-done without compose-hash"));

    List<EventLogEntry> shortAppId = boot();
    shortAppId.set(1, EventLogEntry.runtime("app-id", new byte[19]));
    assertTrue(reject(shortAppId).contains("expected 20"));

    List<EventLogEntry> gpuEarly = boot();
    gpuEarly.add(1, EventLogEntry.runtime("gpu-evidence", new byte[48]));
    assertTrue(reject(gpuEarly).contains("GPU evidence before boot-mr-done"));

    List<EventLogEntry> lateSystemPreparing = boot();
    lateSystemPreparing.add(2, EventLogEntry.runtime("system-preparing", new byte[0]));
    assertTrue(reject(lateSystemPreparing).contains("must be the first"));

    List<EventLogEntry> otherType = boot();
    otherType.add(new EventLogEntry(3, 6, new byte[48], "", new byte[0]));
    assertTrue(reject(otherType).contains("only dstack runtime events"));
  }
}
