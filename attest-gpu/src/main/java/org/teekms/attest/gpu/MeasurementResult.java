package org.teekms.attest.gpu;

import java.util.List;

/**
 * Outcome of comparing a report's measurements with its driver and VBIOS RIMs.
 *
 * @param status MATCHED, MISMATCHED, or NOT_CHECKED (no RIM store configured)
 * @param mismatchedIndexes 0-based indexes (RIM numbering) whose runtime value matches no
 *     alternative
 * @param compared how many active golden measurements were compared
 * @param driverRim the driver RIM used, or null
 * @param vbiosRim the VBIOS RIM used, or null
 */
public record MeasurementResult(
    Status status,
    List<Integer> mismatchedIndexes,
    int compared,
    String driverRim,
    String vbiosRim) {

  public enum Status {
    MATCHED,
    MISMATCHED,
    NOT_CHECKED
  }

  public MeasurementResult {
    mismatchedIndexes = List.copyOf(mismatchedIndexes);
  }

  public static MeasurementResult notChecked() {
    return new MeasurementResult(Status.NOT_CHECKED, List.of(), 0, null, null);
  }

  public boolean matched() {
    return status == Status.MATCHED;
  }
}
