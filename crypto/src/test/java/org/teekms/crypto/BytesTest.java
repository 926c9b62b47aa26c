package org.teekms.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BytesTest {

  @Test
  void copiesInAndOutSoNobodyCanChangeIt() {
    byte[] source = {1, 2, 3};
    Bytes b = Bytes.copyOf(source);
    source[0] = 9;
    assertEquals("010203", b.hex());
    byte[] out = b.toByteArray();
    out[1] = 9;
    assertEquals("010203", b.hex());
    assertEquals(3, b.length());
    assertEquals(3, b.get(2));
  }

  @Test
  void equalsAndHashCodeAreByValue() {
    Bytes a = Bytes.copyOf(new byte[] {1, 2, 3});
    Bytes b = Bytes.fromHex("0x010203");
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertEquals(1, Set.of(a).stream().filter(b::equals).count());
    assertNotEquals(a, Bytes.fromHex("010204"));
    assertNotEquals(a, Bytes.fromHex("0102"));
    assertTrue(a.equalsConstantTime(b));
    assertFalse(a.equalsConstantTime(Bytes.fromHex("010204")));
    assertFalse(a.equalsConstantTime(Bytes.EMPTY));
    assertSame(Bytes.EMPTY, Bytes.copyOf(new byte[0]));
  }

  @Test
  void aRecordHoldingBytesComparesByContent() {
    record Holder(int n, Bytes b) {}
    assertEquals(
        new Holder(1, Bytes.fromHex("aa")), new Holder(1, Bytes.copyOf(new byte[] {(byte) 0xaa})));
  }

  @Test
  void allZeroIsToldApartFromAnyNonZeroByte() {
    assertTrue(Bytes.copyOf(new byte[48]).isAllZero());
    assertTrue(Bytes.EMPTY.isAllZero());
    assertFalse(Bytes.fromHex("000080").isAllZero());
  }

  @Test
  void malformedHexIsRefusedWithAnIllegalArgument() {
    assertThrows(IllegalArgumentException.class, () -> Bytes.fromHex("abc"));
    assertThrows(IllegalArgumentException.class, () -> Bytes.fromHex("zz"));
    Random random = new Random(19);
    for (int i = 0; i < 200; i++) {
      byte[] b = new byte[random.nextInt(40)];
      random.nextBytes(b);
      Bytes x = Bytes.copyOf(b);
      assertArrayEquals(b, Bytes.fromHex(x.hex()).toByteArray());
    }
  }
}
