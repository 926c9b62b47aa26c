package org.teekms.attest.eventlog;

import java.util.Optional;
import org.teekms.attest.tdx.TdReport;
import org.teekms.crypto.Bytes;

/**
 * A report-style check of an event log against a TD report, for tools: never throws, says whether
 * the log replays (and follows the boot sequence) and what it yields. Verifiers that decide
 * admission use {@link EventLogVerifier}.
 *
 * @param replayed the log parsed, replayed to the quoted registers and follows the boot sequence
 * @param error why not, when not replayed
 * @param verified the verified log, when replayed
 * @param rtmr3 the RTMR3 the log replays to, when it parsed
 */
public record EventLogCheck(
    boolean replayed,
    Optional<String> error,
    Optional<VerifiedEventLog> verified,
    Optional<Bytes> rtmr3) {

  public static EventLogCheck of(String eventLogJson, TdReport td) {
    Bytes rtmr3 = null;
    try {
      var log = DstackEventLogCodec.parse(eventLogJson);
      rtmr3 = Bytes.copyOf(RtmrReplay.replay(log).rtmr(3));
      VerifiedEventLog v = EventLogVerifier.verify(log, QuotedMeasurements.of(td));
      return new EventLogCheck(true, Optional.empty(), Optional.of(v), Optional.of(rtmr3));
    } catch (EventLogException e) {
      return new EventLogCheck(
          false, Optional.of(e.getMessage()), Optional.empty(), Optional.ofNullable(rtmr3));
    }
  }
}
