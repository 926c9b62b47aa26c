package org.teekms.kms.admission;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.teekms.attest.gpu.GpuDevices;

/**
 * Admission's GPU checks on hand-built facts, without a server: every refusal code with its exact
 * detail, and each threshold on both sides (mutation testing found these untested by the
 * database-backed admission tests, docs/reliability.md §5).
 */
class GpuAdmissionChecksTest {

  private static final String DEV_A = "aa".repeat(32);
  private static final String DEV_B = "bb".repeat(32);

  private static GpuFacts.Gpu gpu(String device, String arch) {
    return new GpuFacts.Gpu(Optional.empty(), "", device, arch, "565.0.0", "96.00.9F.00.01");
  }

  private static GpuFacts.Gpu failed(DenyCode code, String device, String detail) {
    return new GpuFacts.Gpu(Optional.of(code), detail, device, "HOPPER", "", "");
  }

  /**
   * A peer with {@code facts}; the summary fields (count, arch, lowest driver) as the handshake
   * derives them.
   */
  private static AttestedPeer peer(GpuFacts facts, int count, String arch, long minDriver) {
    return TestPeers.peer().gpus(count, arch, minDriver).gpuFacts(facts).build();
  }

  private static AttestedPeer peer(GpuFacts facts) {
    return peer(
        facts, facts.valid().size(), facts.gpus().isEmpty() ? "" : facts.gpus().get(0).arch(), 0);
  }

  private static String bootDigest(String... devices) {
    return HexFormat.of().formatHex(GpuDevices.digestOfHex(List.of(devices)));
  }

  private static AdmissionDenied refusedEvidence(GpuFacts facts) {
    return assertThrows(
        AdmissionDenied.class, () -> LocalAttestationPolicy.checkGpuEvidence(peer(facts)));
  }

  private static AdmissionDenied refusedDevices(GpuFacts facts) {
    return assertThrows(
        AdmissionDenied.class, () -> LocalAttestationPolicy.checkGpuDevicesUnchanged(peer(facts)));
  }

  private static AdmissionDenied refusedRequirement(
      AttestedPeer p, AppPolicyVerdict.GpuRequirement required) {
    return assertThrows(AdmissionDenied.class, () -> LocalAttestationPolicy.checkGpu(p, required));
  }

  @Test
  void aGpuWhoseEvidenceFailedIsRefusedWithItsOwnCodeAndNamesItsIndexAndShortDeviceId() {
    AdmissionDenied d =
        refusedEvidence(
            new GpuFacts(
                true,
                List.of(
                    gpu(DEV_A, "HOPPER"),
                    failed(DenyCode.GPU_NONCE_MISMATCH, DEV_B, "nonce mismatch"))));
    assertEquals(DenyCode.GPU_NONCE_MISMATCH, d.code());
    assertEquals("GPU 1 (device bbbbbbbbbbbbbbbb…): nonce mismatch", d.detail());
  }

  @Test
  void aFailedGpuWithoutADeviceIdIsNamedByIndexOnly() {
    AdmissionDenied d =
        refusedEvidence(new GpuFacts(true, List.of(failed(DenyCode.GPU_REVOKED, "", "revoked"))));
    assertEquals(DenyCode.GPU_REVOKED, d.code());
    assertEquals("GPU 0: revoked", d.detail());
  }

  @Test
  void theSameGpuListedTwiceIsADuplicateDevice() {
    AdmissionDenied d =
        refusedEvidence(
            new GpuFacts(
                true, List.of(gpu(DEV_A, "HOPPER"), gpu(DEV_B, "HOPPER"), gpu(DEV_A, "HOPPER"))));
    assertEquals(DenyCode.GPU_DUPLICATE_DEVICE, d.code());
    assertEquals(
        "GPU 2 is the same device (aaaaaaaaaaaaaaaa…) as GPU 0: one GPU's evidence counted twice",
        d.detail());
  }

  @Test
  void gpusOfMixedArchitecturesAreRefused() {
    AdmissionDenied d =
        refusedEvidence(new GpuFacts(true, List.of(gpu(DEV_A, "HOPPER"), gpu(DEV_B, "BLACKWELL"))));
    assertEquals(DenyCode.GPU_ARCHITECTURE, d.code());
    assertEquals(
        "the CVM's attested GPUs are of mixed architectures [BLACKWELL, HOPPER]", d.detail());
  }

  @Test
  void distinctVerifiedGpusOfOneArchitecturePass() {
    assertDoesNotThrow(
        () ->
            LocalAttestationPolicy.checkGpuEvidence(
                peer(new GpuFacts(true, List.of(gpu(DEV_A, "HOPPER"), gpu(DEV_B, "HOPPER"))))));
    assertDoesNotThrow(() -> LocalAttestationPolicy.checkGpuEvidence(peer(GpuFacts.NONE)));
  }

  @Test
  void presentedGpusMustBeTheDevicesMeasuredAtBootInAnyOrder() {
    assertDoesNotThrow(
        () ->
            LocalAttestationPolicy.checkGpuDevicesUnchanged(
                peer(
                    new GpuFacts(
                        true,
                        List.of(gpu(DEV_A, "HOPPER"), gpu(DEV_B, "HOPPER")),
                        Optional.of(bootDigest(DEV_B, DEV_A))))));
    AdmissionDenied swapped =
        refusedDevices(
            new GpuFacts(true, List.of(gpu(DEV_A, "HOPPER")), Optional.of(bootDigest(DEV_B))));
    assertEquals(DenyCode.GPU_DEVICE_CHANGED, swapped.code());
    assertEquals(
        "the presented GPUs ([aaaaaaaaaaaaaaaa…]) are not the devices measured at boot (gpu-devices "
            + bootDigest(DEV_B).substring(0, 16)
            + "…)",
        swapped.detail());
  }

  @Test
  void evidenceWithoutABootMeasurementOfTheDevicesIsRefused() {
    AdmissionDenied d =
        refusedDevices(new GpuFacts(true, List.of(gpu(DEV_A, "HOPPER"), gpu(DEV_B, "HOPPER"))));
    assertEquals(DenyCode.GPU_DEVICE_CHANGED, d.code());
    assertEquals(
        "the CVM presents evidence of 2 GPU(s) but measured no gpu-devices event at boot",
        d.detail());
  }

  @Test
  void aPresentedGpuWithoutAUsableFingerprintIsRefused() {
    AdmissionDenied d =
        refusedDevices(
            new GpuFacts(true, List.of(gpu("abcd", "HOPPER")), Optional.of(bootDigest(DEV_A))));
    assertEquals(DenyCode.GPU_DEVICE_CHANGED, d.code());
    assertEquals("a presented GPU has no usable device fingerprint", d.detail());
  }

  @Test
  void noEvidenceOrNoGpuVerificationHasNoBootDevicesToCompare() {
    assertDoesNotThrow(() -> LocalAttestationPolicy.checkGpuDevicesUnchanged(peer(GpuFacts.NONE)));
    assertDoesNotThrow(
        () -> LocalAttestationPolicy.checkGpuDevicesUnchanged(peer(GpuFacts.NOT_VERIFIED)));
  }

  @Test
  void anAppWithoutAGpuRequirementNeedsNoGpuVerification() {
    assertDoesNotThrow(
        () ->
            LocalAttestationPolicy.checkGpu(
                peer(GpuFacts.NOT_VERIFIED), AppPolicyVerdict.GpuRequirement.NONE));
  }

  @Test
  void aGpuRequirementOnAKmsThatDoesNotVerifyGpusIsVerifierNotConfigured() {
    AdmissionDenied d =
        refusedRequirement(
            peer(GpuFacts.NOT_VERIFIED), new AppPolicyVerdict.GpuRequirement(1, "", 0));
    assertEquals(DenyCode.GPU_VERIFIER_NOT_CONFIGURED, d.code());
  }

  @Test
  void aGpuRequirementWithoutEvidenceIsEvidenceMissing() {
    AdmissionDenied d =
        refusedRequirement(peer(GpuFacts.NONE), new AppPolicyVerdict.GpuRequirement(1, "", 0));
    assertEquals(DenyCode.GPU_EVIDENCE_MISSING, d.code());
  }

  @Test
  void exactlyTheRequiredNumberOfGpusPassesAndOneFewerIsGpuCount() {
    GpuFacts two = new GpuFacts(true, List.of(gpu(DEV_A, "HOPPER"), gpu(DEV_B, "HOPPER")));
    assertDoesNotThrow(
        () ->
            LocalAttestationPolicy.checkGpu(
                peer(two, 2, "HOPPER", 0), new AppPolicyVerdict.GpuRequirement(2, "", 0)));
    AdmissionDenied d =
        refusedRequirement(
            peer(two, 2, "HOPPER", 0), new AppPolicyVerdict.GpuRequirement(3, "", 0));
    assertEquals(DenyCode.GPU_COUNT, d.code());
    assertEquals(
        "the app requires 3 attested GPU(s), the CVM presented 2 with valid evidence", d.detail());
  }

  @Test
  void theRequiredArchitectureMatchesIgnoringCaseAndAnotherIsRefused() {
    GpuFacts one = new GpuFacts(true, List.of(gpu(DEV_A, "HOPPER")));
    assertDoesNotThrow(
        () ->
            LocalAttestationPolicy.checkGpu(
                peer(one, 1, "HOPPER", 0), new AppPolicyVerdict.GpuRequirement(1, "hopper", 0)));
    AdmissionDenied d =
        refusedRequirement(
            peer(one, 1, "HOPPER", 0), new AppPolicyVerdict.GpuRequirement(1, "BLACKWELL", 0));
    assertEquals(DenyCode.GPU_ARCHITECTURE, d.code());
    assertEquals("the app requires BLACKWELL GPUs, the CVM has HOPPER", d.detail());
  }

  @Test
  void theMinimumDriverVersionItselfPassesAndOneBelowIsRefused() {
    GpuFacts one = new GpuFacts(true, List.of(gpu(DEV_A, "HOPPER")));
    assertDoesNotThrow(
        () ->
            LocalAttestationPolicy.checkGpu(
                peer(one, 1, "HOPPER", 500),
                new AppPolicyVerdict.GpuRequirement(1, "HOPPER", 500)));
    AdmissionDenied d =
        refusedRequirement(
            peer(one, 1, "HOPPER", 499), new AppPolicyVerdict.GpuRequirement(1, "HOPPER", 500));
    assertEquals(DenyCode.GPU_DRIVER_VERSION, d.code());
    assertEquals("GPU driver version 499 is below the required 500", d.detail());
  }
}
