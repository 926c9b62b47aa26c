package org.teekms.attest.eventlog;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.teekms.crypto.Bytes;

/**
 * Checks a dstack event log against the registers of a (separately verified) TD quote: RTMR3 must
 * replay exactly, RTMR0-2 must replay wherever the log carries events for them, and the RTMR3
 * runtime events must follow {@link DstackBootSequence}. Stateless and thread-safe.
 */
public final class EventLogVerifier {
  private EventLogVerifier() {}

  public static VerifiedEventLog verify(List<EventLogEntry> log, QuotedMeasurements quoted)
      throws EventLogException {
    RtmrReplay replay = RtmrReplay.replay(log);
    boolean[] has = replay.hasEvents();
    List<Integer> compared = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      if (i != 3 && !has[i]) {
        continue;
      }
      if (!MessageDigest.isEqual(replay.rtmr(i), quoted.rtmr(i))) {
        throw new EventLogException(
            "RTMR"
                + i
                + " mismatch: quote "
                + HexFormat.of().formatHex(quoted.rtmr(i))
                + ", event log replays to "
                + HexFormat.of().formatHex(replay.rtmr(i)));
      }
      compared.add(i);
    }
    BootIdentity identity = DstackBootSequence.extract(log);
    byte[] bootRtmr3 = RtmrReplay.replay(log, DstackBootSequence.BOOT_MR_DONE).rtmr(3);
    byte[] aggregated = aggregate(quoted, bootRtmr3);
    for (EventLogEntry e : log) {
      if (e.imr() == 3 && DstackBootSequence.TRUST_CONFIG.equals(e.name())) {
        aggregated =
            withTrustConfig(aggregated, e.digest()); // at most one: DstackBootSequence checked
      }
    }
    return new VerifiedEventLog(identity, replay, compared, Bytes.copyOf(aggregated));
  }

  /**
   * dstack's {@code mr_aggregated}: SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2 ‖ boot-time RTMR3),
   * followed by MRCONFIGID ‖ MROWNER ‖ MROWNERCONFIG when any of them is non-zero. The boot-time
   * RTMR3 is the replay up to and including {@code boot-mr-done}, so the value does not change as
   * runtime events are appended.
   */
  /**
   * A KMS node's measurement: {@code SHA-256(dstack mr_aggregated ‖ the teekms-trust-config event's
   * 48-byte RTMR3 digest)}. dstack's value covers RTMR3 only up to boot-mr-done, and the KMS
   * measures its trust configuration after system-ready; folding the event in makes a node with
   * another configuration another measurement (the registry's {@code isKmsAllowed}), and a node
   * without the event differs from every node with one (docs/trust-config.md).
   */
  public static byte[] withTrustConfig(byte[] dstackMrAggregated, byte[] trustConfigEventDigest) {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha256.update(dstackMrAggregated);
    sha256.update(trustConfigEventDigest);
    return sha256.digest();
  }

  public static byte[] aggregate(QuotedMeasurements q, byte[] bootTimeRtmr3) {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha256.update(q.mrTd().toByteArray());
    sha256.update(q.rtmr(0));
    sha256.update(q.rtmr(1));
    sha256.update(q.rtmr(2));
    sha256.update(bootTimeRtmr3);
    if (!q.mrConfigId().isAllZero() || !q.mrOwner().isAllZero() || !q.mrOwnerConfig().isAllZero()) {
      sha256.update(q.mrConfigId().toByteArray());
      sha256.update(q.mrOwner().toByteArray());
      sha256.update(q.mrOwnerConfig().toByteArray());
    }
    return sha256.digest();
  }
}
