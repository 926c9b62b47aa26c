package org.teekms.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

class KmsIdentityRootValueTest {

  @Test
  void rootsWithTheSameBytesAreEqual() {
    var a =
        new KmsIdentityBinding.Root(1, Bytes.copyOf(new byte[20]), Bytes.copyOf(new byte[] {1, 2}));
    var b =
        new KmsIdentityBinding.Root(1, Bytes.copyOf(new byte[20]), Bytes.copyOf(new byte[] {1, 2}));
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(
        a,
        new KmsIdentityBinding.Root(
            1, Bytes.copyOf(new byte[20]), Bytes.copyOf(new byte[] {1, 3})));
    byte[] ca = {1, 2};
    var fromArray = new KmsIdentityBinding.Root(1, Bytes.copyOf(new byte[20]), Bytes.copyOf(ca));
    ca[0] = 9;
    assertEquals(a, fromArray, "the root keeps its own copy");
  }
}
