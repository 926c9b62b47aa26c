package org.teekms.attest.eventlog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;

/**
 * Coverage-guided fuzz targets (Jazzer) for the event logs a CVM hands us: the CCEL log area,
 * dstack's JSON event log (RA-TLS certificates, GetQuote), the guest agent's runtime event file and
 * dstack's versioned attestation blob ({@code /Attest}). Corpus: {@code
 * src/test/resources/org/teekms/attest/eventlog/EventLogFuzzTestInputs/<target>/}. Only {@link
 * EventLogException} may escape, and a mutated dstack log that still replays to the real quote's
 * RTMRs must yield the real boot identity.
 */
class EventLogFuzzTest {
  private static final QuotedMeasurements QUOTED;
  private static final BootIdentity IDENTITY;

  static {
    try {
      QUOTED = EventLogVerifierTest.dstackQuoted();
      IDENTITY =
          EventLogVerifier.verify(
                  DstackEventLogCodec.parse(EventLogVerifierTest.dstackEventLog()), QUOTED)
              .identity();
    } catch (Exception e) {
      throw new IllegalStateException("the dstack fixture no longer verifies", e);
    }
  }

  @FuzzTest
  void ccelEventLog(byte[] data) {
    try {
      List<EventLogEntry> log = CcelEventLog.parse(data);
      RtmrReplay.replay(log);
      assertEquals(
          log, DstackEventLogCodec.parse(DstackEventLogCodec.toJson(log)), "JSON round trip");
    } catch (EventLogException expected) {
      // typed
    }
    if (data.length >= 56) {
      try {
        CcelEventLog.parseTable(java.util.Arrays.copyOf(data, 56));
      } catch (EventLogException expected) {
        // typed
      }
    }
  }

  @FuzzTest
  void dstackEventLog(byte[] data) {
    List<EventLogEntry> log;
    try {
      log = DstackEventLogCodec.parse(data);
    } catch (EventLogException expected) {
      return;
    }
    try {
      VerifiedEventLog v = EventLogVerifier.verify(log, QUOTED);
      // Replaying to the quote's registers is what makes the log trusted: the identity must be the
      // real one.
      assertEquals(
          IDENTITY,
          v.identity(),
          "a mutated event log replayed to the quote with another identity");
    } catch (EventLogException expected) {
      // typed: mismatch or malformed boot sequence
    }
  }

  @FuzzTest
  void runtimeEventFile(byte[] data) {
    try {
      List<EventLogEntry> events = DstackRuntimeEventFile.parse(data);
      assertTrue(events.stream().allMatch(e -> e.imr() == 3));
    } catch (EventLogException expected) {
      // typed
    }
  }

  @FuzzTest
  void dstackAttestation(byte[] data) {
    DstackAttestation a;
    try {
      a = DstackAttestation.decode(data);
    } catch (EventLogException expected) {
      return;
    }
    try {
      assertEquals(a, DstackAttestation.decode(a.encode()), "encode/decode round trip");
    } catch (EventLogException e) {
      throw new AssertionError(
          "a decoded attestation re-encodes to a blob its own decoder refuses: " + e.getMessage());
    }
  }
}
