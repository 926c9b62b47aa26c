package org.teekms.attest.eventlog;

import java.util.List;
import org.teekms.attest.tdx.TdReport;
import org.teekms.crypto.Bytes;

/**
 * The measurement registers a verified TD quote carries, as the event-log verifier needs them (48
 * bytes each). Kept free of the quote types so the event log can be checked against any source of
 * registers.
 */
public record QuotedMeasurements(
    Bytes mrTd, List<Bytes> rtmrs, Bytes mrConfigId, Bytes mrOwner, Bytes mrOwnerConfig) {

  public QuotedMeasurements {
    rtmrs = List.copyOf(rtmrs);
    if (rtmrs.size() != 4) {
      throw new IllegalArgumentException("need RTMR0-3");
    }
    for (Bytes b :
        List.of(
            mrTd,
            rtmrs.get(0),
            rtmrs.get(1),
            rtmrs.get(2),
            rtmrs.get(3),
            mrConfigId,
            mrOwner,
            mrOwnerConfig)) {
      if (b.length() != 48) {
        throw new IllegalArgumentException("measurement registers are 48 bytes");
      }
    }
  }

  public static QuotedMeasurements of(
      byte[] mrTd,
      byte[] rtmr0,
      byte[] rtmr1,
      byte[] rtmr2,
      byte[] rtmr3,
      byte[] mrConfigId,
      byte[] mrOwner,
      byte[] mrOwnerConfig) {
    return new QuotedMeasurements(
        Bytes.copyOf(mrTd),
        List.of(Bytes.copyOf(rtmr0), Bytes.copyOf(rtmr1), Bytes.copyOf(rtmr2), Bytes.copyOf(rtmr3)),
        Bytes.copyOf(mrConfigId),
        Bytes.copyOf(mrOwner),
        Bytes.copyOf(mrOwnerConfig));
  }

  /** The registers of a parsed TD report. */
  public static QuotedMeasurements of(TdReport td) {
    return new QuotedMeasurements(
        td.mrTd(), td.rtmrs(), td.mrConfigId(), td.mrOwner(), td.mrOwnerConfig());
  }

  public byte[] rtmr(int i) {
    return rtmrs.get(i).toByteArray();
  }
}
