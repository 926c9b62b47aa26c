package org.teekms.attest.eventlog;

import java.util.List;
import org.teekms.crypto.Bytes;

/**
 * Replays an event log into RTMR0-3. Runtime events are re-digested from their name and payload; a
 * runtime event whose logged digest differs from the recomputed one is an error (the log is lying
 * about itself). Other events extend their logged digest.
 *
 * @param rtmrs the four replayed registers (48 bytes each)
 * @param hasEvents which registers had at least one event in the log
 */
public record RtmrReplay(List<Bytes> rtmrs, boolean[] hasEvents) {

  public RtmrReplay {
    rtmrs = List.copyOf(rtmrs);
    hasEvents = hasEvents.clone();
  }

  @Override
  public boolean[] hasEvents() {
    return hasEvents.clone();
  }

  public byte[] rtmr(int index) {
    return rtmrs.get(index).toByteArray();
  }

  public static RtmrReplay replay(List<EventLogEntry> log) throws EventLogException {
    return replay(log, null);
  }

  /**
   * Replays the log; with {@code stopAfterRuntimeEvent} set, RTMR3 stops after the first runtime
   * event of that name (dstack's "boot-time" RTMR3, used by the aggregated measurement).
   */
  public static RtmrReplay replay(List<EventLogEntry> log, String stopAfterRuntimeEvent)
      throws EventLogException {
    byte[][] regs = new byte[4][RuntimeEventDigest.DIGEST_LENGTH];
    boolean[] has = new boolean[4];
    boolean rtmr3Stopped = false;
    int index = 0;
    for (EventLogEntry e : log) {
      int imr = e.imr();
      byte[] digest;
      if (e.isRuntimeEvent()) {
        digest = RuntimeEventDigest.v1(e.name(), e.payload());
        byte[] claimed = e.digest();
        if (claimed != null && !java.security.MessageDigest.isEqual(claimed, digest)) {
          throw new EventLogException(
              "event "
                  + index
                  + " ('"
                  + e.name()
                  + "'): logged digest does not match SHA-384 of its name and payload");
        }
      } else {
        digest = e.digest();
      }
      if (!(imr == 3 && rtmr3Stopped)) {
        regs[imr] = RuntimeEventDigest.extend(regs[imr], digest);
        has[imr] = true;
      }
      if (imr == 3
          && stopAfterRuntimeEvent != null
          && e.isRuntimeEvent()
          && e.name().equals(stopAfterRuntimeEvent)) {
        rtmr3Stopped = true;
      }
      index++;
    }
    return new RtmrReplay(
        List.of(
            Bytes.copyOf(regs[0]),
            Bytes.copyOf(regs[1]),
            Bytes.copyOf(regs[2]),
            Bytes.copyOf(regs[3])),
        has);
  }
}
