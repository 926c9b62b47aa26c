package org.teekms.attest.eventlog;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.provider.FakeTd;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.provider.TdEventLog;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.TdxQuote;

/**
 * The KMS's {@code teekms-trust-config} runtime event: where it may stand, and how it changes
 * mrAggregated.
 */
class TrustConfigEventTest {
  static final SimulatedTdx TDX = SimulatedTdx.enable("TrustConfigEventTest", Clock.systemUTC());

  static SimulatedCvm kms() throws Exception {
    return TDX.newCvm(new byte[48], false)
        .boot(SimulatedCvm.App.ofCompose("kms image", new byte[20]));
  }

  static VerifiedEventLog verified(SimulatedCvm cvm) throws Exception {
    RuntimeEventLog.QuoteWithLog q = cvm.eventLog().quote(cvm, new byte[64]);
    return EventLogVerifier.verify(
        DstackEventLogCodec.parse(q.eventLogJson()),
        QuotedMeasurements.of(TdxQuote.parse(q.quote().toByteArray()).tdReport()));
  }

  static byte[] digest(int b) {
    byte[] d = new byte[32];
    Arrays.fill(d, (byte) b);
    return d;
  }

  @Test
  void theTrustConfigurationIsFoldedIntoMrAggregatedAndAnotherOneGivesAnotherMeasurement()
      throws Exception {
    SimulatedCvm bare = kms();
    byte[] dstack = verified(bare).mrAggregated().toByteArray();
    SimulatedCvm a = kms();
    a.eventLog().emit(DstackBootSequence.TRUST_CONFIG, digest(1));
    SimulatedCvm b = kms();
    b.eventLog().emit(DstackBootSequence.TRUST_CONFIG, digest(2));
    byte[] ma = verified(a).mrAggregated().toByteArray();
    byte[] mb = verified(b).mrAggregated().toByteArray();
    assertArrayEquals(
        EventLogVerifier.withTrustConfig(
            dstack, RuntimeEventDigest.v1(DstackBootSequence.TRUST_CONFIG, digest(1))),
        ma);
    assertFalse(Arrays.equals(ma, mb), "another configuration, another measurement");
    assertFalse(Arrays.equals(ma, dstack), "a node without the event is not the measured node");
    // Later application events do not move it (a KMS's measurement is stable while it runs).
    a.eventLog().emit("app-event", new byte[] {1});
    assertArrayEquals(ma, verified(a).mrAggregated().toByteArray());
  }

  @Test
  void theEventIsAllowedOnceAfterSystemReadyWithA32BytePayload() throws Exception {
    SimulatedCvm twice = kms();
    twice.eventLog().emit(DstackBootSequence.TRUST_CONFIG, digest(1));
    twice.eventLog().emit(DstackBootSequence.TRUST_CONFIG, digest(2));
    assertTrue(
        assertThrows(EventLogException.class, () -> verified(twice))
            .getMessage()
            .contains("a second trust configuration"));

    SimulatedCvm shortPayload = kms();
    shortPayload.eventLog().emit(DstackBootSequence.TRUST_CONFIG, new byte[31]);
    assertTrue(
        assertThrows(EventLogException.class, () -> verified(shortPayload))
            .getMessage()
            .contains("expected 32"));

    // Before system-ready (between boot-mr-done and system-ready) it is a reserved name out of
    // place.
    List<EventLogEntry> log = new ArrayList<>(kms().eventLog().entries());
    int ready = log.size() - 1;
    assertEquals(DstackBootSequence.SYSTEM_READY, log.get(ready).name());
    log.add(ready, EventLogEntry.runtime(DstackBootSequence.TRUST_CONFIG, digest(1)));
    assertThrows(EventLogException.class, () -> DstackBootSequence.extract(log));
  }

  @Test
  void aRealTdsEventLogMeasuresTheEventThroughItsExtenderAndReplaysIt(@TempDir Path dir)
      throws Exception {
    FakeTd td = new FakeTd(dir, TDX).boot(SimulatedCvm.App.ofCompose("kms image", new byte[20]));
    TdEventLog log = td.eventLog();
    log.emit(DstackBootSequence.TRUST_CONFIG, digest(7));
    assertEquals(
        DstackBootSequence.TRUST_CONFIG,
        log.runtimeEvents().get(log.runtimeEvents().size() - 1).name());
    RuntimeEventLog.QuoteWithLog q =
        log.quote(new byte[64]); // verifies the log against the quote (RTMR3 replays)
    List<EventLogEntry> entries = DstackEventLogCodec.parse(q.eventLogJson());
    assertTrue(entries.stream().anyMatch(e -> e.name().equals(DstackBootSequence.TRUST_CONFIG)));
    byte[] replayed = RtmrReplay.replay(entries).rtmr(3);
    assertArrayEquals(
        TdxQuote.parse(q.quote().toByteArray()).tdReport().rtmr(3).toByteArray(), replayed);
    // Without an extender the log is read-only.
    assertThrows(
        org.teekms.attest.provider.QuoteProviderException.class,
        () ->
            new TdEventLog(td.quoteProvider(), td.ccelTable, td.ccelData, td.runtimeEvents)
                .emit(DstackBootSequence.TRUST_CONFIG, digest(7)));
  }
}
