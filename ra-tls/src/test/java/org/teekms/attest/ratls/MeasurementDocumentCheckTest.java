package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedOsImage;
import org.teekms.crypto.Bytes;

/**
 * The measurement-document check as the RA-TLS verifier runs it: a dstack vm_config proves an OS
 * image only when the image's expected MRTD and RTMR0-2 are the quote's, and the proven image (not
 * the guest's RTMR3 claim) is the identity.
 */
class MeasurementDocumentCheckTest {

  private static final SimulatedOsImage IMAGE = SimulatedOsImage.of("registered");

  private static SimulatedCvm bootedFrom(SimulatedOsImage image, SimulatedCvm.App app)
      throws Exception {
    return image.newCvm(SimulatedRaTls.TDX, false).boot(app, image);
  }

  @Test
  void aCvmBootedFromTheDocumentsImageIsProvenAndNamesThatImage() throws Exception {
    RaTlsIdentity id =
        OsImageIdentityTest.verify(
            bootedFrom(IMAGE, OsImageIdentityTest.victim()),
            IMAGE.vmConfigJson(),
            MeasurementDocumentCheck.INSTANCE);
    assertTrue(id.osImageMeasured(), id.osImage().detail());
    assertEquals(Optional.of(IMAGE.osImageHash()), id.provenOsImageHash());
    // the guest measured another value into RTMR3 (as dstack 0.6 guests do): the document's image
    // counts
    assertEquals(Optional.of(Bytes.copyOf(OsImageIdentityTest.IMAGE)), id.osImageHash());
  }

  @Test
  void anAttackersOwnKernelPresentingTheRegisteredImagesDocumentIsNotProven() throws Exception {
    SimulatedOsImage attackers = SimulatedOsImage.of("attacker");
    RaTlsIdentity id =
        OsImageIdentityTest.verify(
            bootedFrom(attackers, OsImageIdentityTest.victim()),
            IMAGE.vmConfigJson(),
            MeasurementDocumentCheck.INSTANCE);
    assertFalse(id.osImageMeasured());
    assertEquals(Optional.empty(), id.provenOsImageHash());
    assertTrue(
        id.osImage().detail().startsWith("OS_IMAGE_MEASUREMENT_MISMATCH"), id.osImage().detail());
    assertTrue(id.osImage().detail().contains("MRTD"), id.osImage().detail());
  }

  @Test
  void anotherVmShapeThanTheDocumentSaysIsNotProven() throws Exception {
    // same image, but the vm_config claims 8 GiB while the TD was built with 4 GiB (RTMR0's TD HOB
    // differs)
    RaTlsIdentity id =
        OsImageIdentityTest.verify(
            bootedFrom(IMAGE, OsImageIdentityTest.victim()),
            IMAGE.withVm(8L << 30, 2, "9.2.1").vmConfigJson(),
            MeasurementDocumentCheck.INSTANCE);
    assertFalse(id.osImageMeasured());
    assertTrue(id.osImage().detail().contains("RTMR0"), id.osImage().detail());
  }

  @Test
  void withoutADocumentNothingIsProven() throws Exception {
    RaTlsIdentity id =
        OsImageIdentityTest.verify(
            bootedFrom(IMAGE, OsImageIdentityTest.victim()),
            null,
            MeasurementDocumentCheck.INSTANCE);
    assertFalse(id.osImageMeasured());
    assertEquals("no measurement document", id.osImage().detail());
  }

  @Test
  void garbageInTheDocumentIsNotProvenAndNeverThrows() throws Exception {
    SimulatedCvm cvm = bootedFrom(IMAGE, OsImageIdentityTest.victim());
    byte[] doc = IMAGE.vmConfigJson();
    java.util.Random r = new java.util.Random(42);
    for (int i = 0; i < 20; i++) {
      byte[] mutated = doc.clone();
      mutated[r.nextInt(mutated.length)] ^= (byte) (1 + r.nextInt(255));
      RaTlsIdentity id =
          OsImageIdentityTest.verify(cvm, mutated, MeasurementDocumentCheck.INSTANCE);
      assertFalse(
          id.osImageMeasured() && !id.provenOsImageHash().equals(Optional.of(IMAGE.osImageHash())),
          id.osImage().detail());
    }
  }
}
