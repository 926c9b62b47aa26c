package org.teekms.attest.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

/** A simulated app compares by content (it compared its byte arrays by identity before). */
class SimulatedCvmAppValueTest {

  @Test
  void appsWithTheSameBytesAreEqual() {
    SimulatedCvm.App a = SimulatedCvm.App.ofCompose("compose", new byte[20]);
    SimulatedCvm.App b = SimulatedCvm.App.ofCompose("compose", new byte[20]);
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertEquals(a.withOsImageHash(new byte[32]), b.withOsImageHash(new byte[32]));
    assertNotEquals(a, SimulatedCvm.App.ofCompose("other compose", new byte[20]));
    assertNotEquals(a, a.withOsImageHash(new byte[32]));
  }

  @Test
  void theAppKeepsItsOwnCopyOfTheOsImageHash() {
    byte[] hash = new byte[32];
    SimulatedCvm.App app =
        SimulatedCvm.App.ofCompose("compose", new byte[20]).withOsImageHash(hash);
    hash[0] = 1;
    assertEquals(0, app.osImageHash().get(0));
  }
}
