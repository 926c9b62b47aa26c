package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GpuEvidencePolicyTest {
  private static final OcspResult GOOD =
      new OcspResult(
          OcspChecker.Mode.FAIL_CLOSED,
          List.of(new OcspResult.CertStatus("CN=x", "1", OcspResult.Status.GOOD, "good")));
  private static final MeasurementResult MATCHED =
      new MeasurementResult(MeasurementResult.Status.MATCHED, List.of(), 33, "d", "v");

  private static int devices;

  private static GpuResult ok(String driver, String vbios, MeasurementResult m, OcspResult o) {
    String id = String.format("%064x", ++devices);
    return new GpuResult(true, GpuArchitecture.HOPPER, driver, vbios, m, o, id, false, null, null);
  }

  @Test
  void strictPolicyAcceptsCompleteFacts() {
    GpuResult r = ok("550.90.07", "96.00.9f.00.01", MATCHED, GOOD);
    GpuResult s = ok("550.90.07", "96.00.9f.00.01", MATCHED, GOOD);
    assertTrue(GpuEvidencePolicy.strict(1).apply(List.of(r)).allowed());
    assertTrue(
        GpuEvidencePolicy.strict(1).apply(List.of(r, s)).allowed(),
        "more GPUs than required is fine");
  }

  @Test
  void theSameGpuTwiceCountsOnce() {
    GpuResult r = ok("550.90.07", "96.00.9f.00.01", MATCHED, GOOD);
    GpuEvidencePolicy.Decision d = GpuEvidencePolicy.strict(2).apply(List.of(r, r));
    assertFalse(d.allowed());
    assertTrue(d.reasons().get(0).contains("is the same device as GPU 0"), d.reasons()::toString);
  }

  @Test
  void eachRequirementDeniesWithAReason() {
    GpuResult unchecked =
        ok("550.90.07", "96.00.9f.00.01", MeasurementResult.notChecked(), OcspResult.skipped());
    GpuEvidencePolicy.Decision d = GpuEvidencePolicy.strict(2).apply(List.of(unchecked));
    assertFalse(d.allowed());
    assertEquals(3, d.reasons().size(), d.reasons()::toString);
    assertTrue(d.reasons().get(0).contains("requires 2 GPUs"));
    assertTrue(d.reasons().get(1).contains("NOT_CHECKED"));
    assertTrue(d.reasons().get(2).contains("skipped"));

    GpuEvidencePolicy lenient = new GpuEvidencePolicy(1, Set.of(), null, null, false, false);
    assertTrue(lenient.apply(List.of(unchecked)).allowed());
    GpuResult invalid =
        new GpuResult(
            false,
            null,
            null,
            null,
            MeasurementResult.notChecked(),
            OcspResult.skipped(),
            null,
            false,
            GpuAttestationException.Reason.SIGNATURE_INVALID,
            "SIGNATURE_INVALID: bad");
    GpuEvidencePolicy.Decision withInvalid = lenient.apply(List.of(unchecked, invalid));
    assertFalse(withInvalid.allowed(), "an attached GPU that fails verification is never ignored");
    assertTrue(withInvalid.reasons().get(0).contains("GPU 1 failed verification"));
  }

  @Test
  void minimumVersionsCompareNumericallyAndHex() {
    GpuEvidencePolicy p =
        new GpuEvidencePolicy(
            1, Set.of(GpuArchitecture.HOPPER), "550.54.15", "96.00.5e.00.01", false, false);
    assertTrue(p.apply(List.of(ok("550.90.07", "96.00.9f.00.01", MATCHED, GOOD))).allowed());
    assertTrue(p.apply(List.of(ok("550.54.15", "96.00.5E.00.01", MATCHED, GOOD))).allowed());
    GpuEvidencePolicy.Decision old =
        p.apply(List.of(ok("545.00", "96.00.5d.00.07", MATCHED, GOOD)));
    assertEquals(2, old.reasons().size(), old.reasons()::toString);
    assertTrue(
        GpuEvidencePolicy.compareVersions("550.100", "550.90", 10) > 0, "100 > 90 numerically");
    assertTrue(GpuEvidencePolicy.compareVersions("96.00.a0.00.01", "96.00.9f.00.01", 16) > 0);
    assertThrows(
        IllegalArgumentException.class,
        () -> new GpuEvidencePolicy(1, Set.of(), "five", null, false, false));
  }

  @Test
  void architectureAllowList() {
    GpuEvidencePolicy blackwellOnly =
        new GpuEvidencePolicy(1, Set.of(GpuArchitecture.BLACKWELL), null, null, false, false);
    GpuEvidencePolicy.Decision d =
        blackwellOnly.apply(List.of(ok("550.90.07", "96.00.9f.00.01", MATCHED, GOOD)));
    assertFalse(d.allowed());
    assertTrue(d.reasons().get(0).contains("is HOPPER"));
  }
}
