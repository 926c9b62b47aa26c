package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class GpuValuesCompareByValueTest {

  private static <T> void assertEqualByValue(T a, T b, T different) {
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, different);
  }

  @Test
  void measurementBlocksWithTheSameValueAreEqual() {
    assertEqualByValue(
        new HopperReport.MeasurementBlock(1, 2, new byte[] {5, 6}),
        new HopperReport.MeasurementBlock(1, 2, new byte[] {5, 6}),
        new HopperReport.MeasurementBlock(1, 2, new byte[] {5, 7}));
  }

  @Test
  void opaqueFieldsWithTheSameValueAreEqual() {
    assertEqualByValue(
        new HopperReport.OpaqueField(3, new byte[] {5}),
        new HopperReport.OpaqueField(3, new byte[] {5}),
        new HopperReport.OpaqueField(3, new byte[] {6}));
  }

  @Test
  void goldenMeasurementsWithTheSameAlternativesAreEqual() {
    assertEqualByValue(
        new Rim.GoldenMeasurement(1, true, 2, List.of(new byte[] {1, 2}, new byte[] {3, 4})),
        new Rim.GoldenMeasurement(1, true, 2, List.of(new byte[] {1, 2}, new byte[] {3, 4})),
        new Rim.GoldenMeasurement(1, true, 2, List.of(new byte[] {1, 2}, new byte[] {3, 5})));
  }

  @Test
  void goldenMeasurementAlternativesCannotBeChangedFromOutside() {
    Rim.GoldenMeasurement g = new Rim.GoldenMeasurement(1, true, 2, List.of(new byte[] {1, 2}));
    g.alternatives().get(0)[0] = 9;
    assertArrayEquals(new byte[] {1, 2}, g.alternatives().get(0));
  }
}
