package org.teekms.attest.eventlog;

import java.util.List;
import org.teekms.crypto.Bytes;

/**
 * An event log that replayed to the quoted registers and follows the boot sequence.
 *
 * @param identity the boot identity
 * @param replayed RTMR0-3 as replayed (equal to the quote's wherever the log carries events; RTMR3
 *     always)
 * @param replayedRegisters indexes of the registers compared with the quote
 * @param mrAggregated dstack's aggregated measurement, see {@link EventLogVerifier#aggregate}
 */
public record VerifiedEventLog(
    BootIdentity identity,
    RtmrReplay replayed,
    List<Integer> replayedRegisters,
    Bytes mrAggregated) {

  public VerifiedEventLog {
    replayedRegisters = List.copyOf(replayedRegisters);
  }
}
