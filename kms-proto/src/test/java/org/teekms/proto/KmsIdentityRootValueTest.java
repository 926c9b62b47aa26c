package org.teekms.proto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class KmsIdentityRootValueTest {

  @Test
  void rootsWithTheSameBytesAreEqual() {
    var a = new KmsIdentityBinding.Root(1, new byte[20], new byte[] {1, 2});
    var b = new KmsIdentityBinding.Root(1, new byte[20], new byte[] {1, 2});
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, new KmsIdentityBinding.Root(1, new byte[20], new byte[] {1, 3}));
    a.caCertificate()[0] = 9;
    assertArrayEquals(new byte[] {1, 2}, a.caCertificate());
  }
}
