package org.teekms.attest.osimage;

import java.util.List;
import java.util.Optional;
import org.teekms.crypto.Bytes;

/**
 * The outcome of {@link OsImageVerifier#verify}: facts, not policy.
 *
 * @param verified the quote's MRTD and RTMR0-2 equal the expected measurements of the image {@code
 *     osImageHash}
 * @param failure the first failed check, or null when verified
 * @param osImageHash the vm_config's os_image_hash (32 bytes), or null when the vm_config did not
 *     parse
 * @param expected the image's expected registers, or null when they could not be computed
 * @param actual the quote's registers
 * @param mismatches the names of the registers that differ ({@code MRTD}, {@code RTMR0}..{@code
 *     RTMR2}), in order
 * @param error {@code "<FAILURE>: <exact reason>"}, or null when verified
 */
public record OsImageVerdict(
    boolean verified,
    OsImageFailure failure,
    Bytes osImageHash,
    TdxMeasurements expected,
    TdxMeasurements actual,
    List<String> mismatches,
    String error) {

  public OsImageVerdict {
    mismatches = List.copyOf(mismatches);
    if (verified != (failure == null) || verified != (error == null)) {
      throw new IllegalArgumentException(
          "a verdict is verified exactly when it has no failure and no error");
    }
  }

  /** The OS image hash, present only when the hardware measurements proved it. */
  public Optional<Bytes> provenOsImageHash() {
    return verified ? Optional.of(osImageHash) : Optional.empty();
  }
}
