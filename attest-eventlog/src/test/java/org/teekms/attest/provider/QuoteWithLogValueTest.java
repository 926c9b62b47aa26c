package org.teekms.attest.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

class QuoteWithLogValueTest {

  @Test
  void quotesWithTheSameBytesAndLogAreEqual() {
    var a = new RuntimeEventLog.QuoteWithLog(Bytes.copyOf(new byte[] {1, 2}), "[]");
    var b = new RuntimeEventLog.QuoteWithLog(Bytes.copyOf(new byte[] {1, 2}), "[]");
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, new RuntimeEventLog.QuoteWithLog(Bytes.copyOf(new byte[] {1, 3}), "[]"));
    assertNotEquals(a, new RuntimeEventLog.QuoteWithLog(Bytes.copyOf(new byte[] {1, 2}), "[{}]"));
  }
}
