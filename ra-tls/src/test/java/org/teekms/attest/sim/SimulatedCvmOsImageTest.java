package org.teekms.attest.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.SimulatedRaTls;

/**
 * The simulator measures a configurable OS image hash, which RA-TLS verification replays into the
 * boot identity.
 */
class SimulatedCvmOsImageTest {

  @Test
  void osImageHashIsMeasuredAfterBootMrDoneAndReplayed() throws Exception {
    byte[] image = new byte[32];
    image[0] = 0x05;
    image[31] = 0x42;
    SimulatedCvm.App app =
        SimulatedCvm.App.ofCompose("services: {os: {}}", new byte[20]).withOsImageHash(image);
    SimulatedCvm cvm = SimulatedRaTls.TDX.newCvm(new byte[48], false).boot(app);
    RaTlsIdentity id =
        SimulatedRaTls.verifier()
            .build()
            .verify(SimulatedRaTls.factory(cvm, null).create("os").certificate());
    assertArrayEquals(image, id.osImageHash().orElseThrow().toByteArray());

    SimulatedCvm plain = SimulatedRaTls.cvm("services: {plain: {}}", false);
    RaTlsIdentity none =
        SimulatedRaTls.verifier()
            .build()
            .verify(SimulatedRaTls.factory(plain, null).create("plain").certificate());
    assertTrue(none.osImageHash().isEmpty(), "no os-image-hash event, none in the identity");
    assertEquals(
        IllegalArgumentException.class,
        assertThrows(IllegalArgumentException.class, () -> app.withOsImageHash(new byte[31]))
            .getClass());
  }
}
