package org.teekms.kms.admission;

import java.util.Objects;
import org.teekms.crypto.Bytes;

/**
 * The OS identity of a peer as the hardware measured it, from its verified quote (never from the
 * guest's event log).
 *
 * @param mrSystem 32 bytes: SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2) ({@code
 *     org.teekms.attest.tdx.MrSystem})
 * @param imageProven whether a measurement document the RA-TLS verifier checked proves the claimed
 *     OS image
 * @param registers the quote's MRTD and RTMR0-2 as short prefixes, e.g. "MRTD 1a2b3c4d…, RTMR0 …",
 *     for deny messages
 * @param proofDetail how the image was proven, or why no document proved it
 */
public record MeasuredOs(
    Bytes mrSystem, boolean imageProven, String registers, String proofDetail) {

  public MeasuredOs {
    Objects.requireNonNull(mrSystem, "mrSystem");
    if (mrSystem.length() != 32) {
      throw new IllegalArgumentException("mrSystem must be 32 bytes, got " + mrSystem.length());
    }
    Objects.requireNonNull(registers, "registers");
    Objects.requireNonNull(proofDetail, "proofDetail");
  }

  public String mrSystemHex() {
    return mrSystem.hex();
  }

  /**
   * Why an OS image is refused for lack of a matching measurement: which image, which hardware
   * values.
   */
  public String mismatch(Bytes osImageHash) {
    return "OS image 0x"
        + osImageHash.hex()
        + " is not proven by the hardware measurements: no "
        + "golden measurement registered for it equals this TD's mrSystem 0x"
        + mrSystemHex()
        + " ("
        + registers
        + "), and no measurement document proved it ("
        + proofDetail
        + ")";
  }
}
