package org.teekms.attest.eventlog;

import java.util.List;

/**
 * The measurement registers a verified TD quote carries, as the event-log verifier needs them (48 bytes each).
 * Kept free of the quote types so the event log can be checked against any source of registers.
 */
public record QuotedMeasurements(
    BootIdentity.Bytes mrTd,
    List<BootIdentity.Bytes> rtmrs,
    BootIdentity.Bytes mrConfigId,
    BootIdentity.Bytes mrOwner,
    BootIdentity.Bytes mrOwnerConfig) {

  public QuotedMeasurements {
    rtmrs = List.copyOf(rtmrs);
    if (rtmrs.size() != 4) {
      throw new IllegalArgumentException("need RTMR0-3");
    }
    for (BootIdentity.Bytes b : List.of(mrTd, rtmrs.get(0), rtmrs.get(1), rtmrs.get(2), rtmrs.get(3), mrConfigId,
        mrOwner, mrOwnerConfig)) {
      if (b.length() != 48) {
        throw new IllegalArgumentException("measurement registers are 48 bytes");
      }
    }
  }

  public static QuotedMeasurements of(byte[] mrTd, byte[] rtmr0, byte[] rtmr1, byte[] rtmr2, byte[] rtmr3,
      byte[] mrConfigId, byte[] mrOwner, byte[] mrOwnerConfig) {
    return new QuotedMeasurements(new BootIdentity.Bytes(mrTd),
        List.of(new BootIdentity.Bytes(rtmr0), new BootIdentity.Bytes(rtmr1), new BootIdentity.Bytes(rtmr2),
            new BootIdentity.Bytes(rtmr3)),
        new BootIdentity.Bytes(mrConfigId), new BootIdentity.Bytes(mrOwner), new BootIdentity.Bytes(mrOwnerConfig));
  }

  public byte[] rtmr(int i) {
    return rtmrs.get(i).value();
  }
}
