package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

class GpuValuesCompareByValueTest {

  private static <T> void assertEqualByValue(T a, T b, T different) {
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, different);
  }

  @Test
  void measurementBlocksWithTheSameValueAreEqual() {
    assertEqualByValue(
        new HopperReport.MeasurementBlock(1, 2, Bytes.copyOf(new byte[] {5, 6})),
        new HopperReport.MeasurementBlock(1, 2, Bytes.copyOf(new byte[] {5, 6})),
        new HopperReport.MeasurementBlock(1, 2, Bytes.copyOf(new byte[] {5, 7})));
  }

  @Test
  void opaqueFieldsWithTheSameValueAreEqual() {
    assertEqualByValue(
        new HopperReport.OpaqueField(3, Bytes.copyOf(new byte[] {5})),
        new HopperReport.OpaqueField(3, Bytes.copyOf(new byte[] {5})),
        new HopperReport.OpaqueField(3, Bytes.copyOf(new byte[] {6})));
  }

  @Test
  void goldenMeasurementsWithTheSameAlternativesAreEqual() {
    assertEqualByValue(
        golden(new byte[] {1, 2}, new byte[] {3, 4}),
        golden(new byte[] {1, 2}, new byte[] {3, 4}),
        golden(new byte[] {1, 2}, new byte[] {3, 5}));
  }

  @Test
  void goldenMeasurementAlternativesCannotBeChangedFromOutside() {
    byte[] value = {1, 2};
    Rim.GoldenMeasurement g = golden(value);
    value[0] = 9;
    g.alternatives().get(0).toByteArray()[1] = 9;
    assertArrayEquals(new byte[] {1, 2}, g.alternatives().get(0).toByteArray());
    assertTrue(g.accepts(new byte[] {1, 2}));
    assertFalse(g.accepts(new byte[] {9, 2}));
  }

  private static Rim.GoldenMeasurement golden(byte[]... alternatives) {
    return new Rim.GoldenMeasurement(
        1, true, 2, java.util.Arrays.stream(alternatives).map(Bytes::copyOf).toList());
  }
}
