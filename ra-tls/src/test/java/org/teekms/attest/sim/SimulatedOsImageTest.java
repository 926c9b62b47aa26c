package org.teekms.attest.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.attest.eventlog.EventLogVerifier;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.attest.eventlog.RtmrReplay;
import org.teekms.attest.eventlog.VerifiedEventLog;
import org.teekms.attest.osimage.OsImageFailure;
import org.teekms.attest.osimage.OsImageVerdict;
import org.teekms.attest.osimage.OsImageVerifier;
import org.teekms.attest.osimage.TdxImageMeasurement;
import org.teekms.attest.osimage.TdxMeasurements;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.tdx.TdxQuote;

/**
 * A CVM booted from a simulated dstack image verifies with the image's vm_config; a forged identity
 * does not.
 */
class SimulatedOsImageTest {

  private static QuotedMeasurements quoted(SimulatedCvm cvm) throws Exception {
    return QuotedMeasurements.of(TdxQuote.parse(cvm.quote(new byte[64])).tdReport());
  }

  private static SimulatedCvm boot(SimulatedOsImage image, String compose) throws Exception {
    return image
        .newCvm(SimulatedRaTls.TDX, false)
        .boot(SimulatedCvm.App.ofCompose(compose, new byte[20]), image);
  }

  @Test
  void aCvmBootedFromTheImageVerifiesWithItsVmConfig() throws Exception {
    SimulatedOsImage image = SimulatedOsImage.of("dstack-0.6-sim");
    SimulatedCvm cvm = boot(image, "services: {a: {}}");
    QuotedMeasurements q = quoted(cvm);
    OsImageVerdict v = OsImageVerifier.verify(q, image.vmConfigJson(), cvm.eventLog().entries());
    assertTrue(v.verified(), v.error());
    assertEquals(image.measurements(), v.expected());
    assertEquals(image.osImageHash(), v.osImageHash());
    assertEquals(image, cvm.osImage().orElseThrow());
    assertArrayEquals(image.document(), TdxImageMeasurement.decode(image.document()).encode());

    VerifiedEventLog log = EventLogVerifier.verify(cvm.eventLog().entries(), q);
    assertEquals(List.of(0, 1, 2, 3), log.replayedRegisters());
    assertEquals(image.osImageHash(), log.identity().osImageHash().orElseThrow());
    RtmrReplay firmware = RtmrReplay.replay(image.firmwareEvents());
    assertEquals(image.measurements().rtmr0(), firmware.rtmrs().get(0));
  }

  /** The attack: own kernel, the victim's app identity and the victim's vm_config. */
  @Test
  void aForgedIdentityCvmIsRefusedNamingTheRegistersItsOwnImageChanged() throws Exception {
    SimulatedOsImage victim = SimulatedOsImage.of("victim-image");
    SimulatedOsImage attacker = SimulatedOsImage.of("attacker-kernel");
    SimulatedCvm.App victimApp =
        SimulatedCvm.App.ofCompose("services: {victim: {}}", new byte[20])
            .withOsImageHash(victim.osImageHash().toByteArray());
    SimulatedCvm forged = attacker.newCvm(SimulatedRaTls.TDX, false).boot(victimApp, attacker);
    QuotedMeasurements q = quoted(forged);
    EventLogVerifier.verify(
        forged.eventLog().entries(), q); // its RTMR3 claims are internally consistent
    OsImageVerdict v =
        OsImageVerifier.verify(q, victim.vmConfigJson(), forged.eventLog().entries());
    assertEquals(OsImageFailure.OS_IMAGE_MEASUREMENT_MISMATCH, v.failure());
    assertEquals(List.of("MRTD", "RTMR1", "RTMR2"), v.mismatches());
    assertTrue(
        v.error()
            .startsWith(
                "OS_IMAGE_MEASUREMENT_MISMATCH: the TD did not boot OS image "
                    + victim.osImageHash().hex()),
        v.error());
    assertTrue(v.provenOsImageHash().isEmpty());
  }

  @Test
  void vmSizeEntersRtmr0AndUnsupportedSizesAreRefused() throws Exception {
    SimulatedOsImage small = SimulatedOsImage.of("x").withVm(2L << 30, 2, "8.2.2");
    SimulatedOsImage big = SimulatedOsImage.of("x").withVm(64L << 30, 2, "8.2.2");
    TdxMeasurements a = small.measurements();
    TdxMeasurements b = big.measurements();
    assertEquals(List.of("RTMR0"), a.differences(b));
    assertEquals(small.measurement().mrtdTwoPass(), a.mrtd(), "QEMU 8 adds pages in two passes");
    assertNotEquals(SimulatedOsImage.of("x").measurements().mrtd(), a.mrtd());
    assertThrows(
        IllegalArgumentException.class,
        () -> SimulatedOsImage.of("x").withVm(1L << 30, 2, "9.2.1"));
    SimulatedCvm wrongMrtd = SimulatedRaTls.TDX.newCvm(new byte[48], false);
    assertThrows(
        IllegalArgumentException.class,
        () -> wrongMrtd.boot(SimulatedCvm.App.ofCompose("c", new byte[20]), small));
  }
}
