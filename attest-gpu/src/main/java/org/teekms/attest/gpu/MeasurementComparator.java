package org.teekms.attest.gpu;

import static org.teekms.attest.gpu.GpuAttestationException.Reason.RIM_INVALID;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Compares runtime measurements with golden values, as nvtrust does: the golden set is the active
 * entries of the driver RIM plus the active entries of the VBIOS RIM (an index active in both is an
 * error); each golden index i (0-based) must equal one of its alternatives in the report block with
 * SPDM index i + 1. Unlike nvtrust, no index is ever skipped (nvtrust's intended NVDEC0 exception
 * for index 35 never triggers there either).
 */
public final class MeasurementComparator {
  private MeasurementComparator() {}

  public static MeasurementResult compare(HopperReport report, Rim driver, Rim vbios)
      throws GpuAttestationException {
    if (driver.kind() != Rim.Kind.DRIVER || vbios.kind() != Rim.Kind.VBIOS) {
      throw new GpuAttestationException(
          RIM_INVALID,
          "expected a driver and a VBIOS RIM, got "
              + driver.kind()
              + " ("
              + driver.name()
              + ") and "
              + vbios.kind()
              + " ("
              + vbios.name()
              + ")");
    }
    Map<Integer, Rim.GoldenMeasurement> golden = new TreeMap<>();
    for (Rim rim : List.of(driver, vbios)) {
      for (Rim.GoldenMeasurement m : rim.measurements()) {
        if (m.active() && golden.put(m.index(), m) != null) {
          throw new GpuAttestationException(
              RIM_INVALID,
              "measurement index "
                  + m.index()
                  + " is active in both the driver RIM "
                  + driver.name()
                  + " and the VBIOS RIM "
                  + vbios.name());
        }
      }
    }
    if (golden.size() > report.blocks().size()) {
      throw new GpuAttestationException(
          RIM_INVALID,
          "RIMs have "
              + golden.size()
              + " active measurements but the report only "
              + report.blocks().size()
              + " blocks");
    }
    List<Integer> mismatched = new ArrayList<>();
    for (Rim.GoldenMeasurement m : golden.values()) {
      Optional<HopperReport.MeasurementBlock> block = report.block(m.index() + 1);
      if (block.isEmpty() || !m.accepts(block.get().value().toByteArray())) {
        mismatched.add(m.index());
      }
    }
    return new MeasurementResult(
        mismatched.isEmpty()
            ? MeasurementResult.Status.MATCHED
            : MeasurementResult.Status.MISMATCHED,
        mismatched,
        golden.size(),
        driver.name(),
        vbios.name());
  }
}
