package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.attest.gpu.GpuFixtures.NONCE_2023;
import static org.teekms.attest.gpu.GpuFixtures.NONCE_2025;
import static org.teekms.attest.gpu.GpuFixtures.RIM_TIME;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.Fixtures;

/** The real Hopper reports against the independent results in expected/nvtrust_hopper_*.json. */
class HopperFixtureVerificationTest {
  @TempDir Path tmp;

  private static JsonNode expected(String id) throws Exception {
    return new ObjectMapper().readTree(Fixtures.text("expected/" + id + ".json"));
  }

  @Test
  void report2023VerifiesFullyWithTestNoGpuRims() throws Exception {
    GpuFixtures.RecordingRevocation ocsp = new GpuFixtures.RecordingRevocation();
    RimStore store =
        RimStore.load(
            GpuFixtures.rimDir(
                tmp,
                "Driver_RIM_test_no_gpu.swidtag",
                "1010_0200_882_96005E0001_test_no_gpu.swidtag"),
            NvidiaRoots.rimSigningRootCa());
    assertEquals(2, store.rims().size(), () -> "rejected: " + store.rejected());
    GpuEvidenceVerifier verifier =
        GpuEvidenceVerifier.nvidia().rimStore(store).revocation(ocsp).build();

    GpuResult r =
        verifier.verifyDevice(
            GpuFixtures.report2023(),
            GpuFixtures.chain2023(),
            GpuArchitecture.HOPPER,
            NONCE_2023,
            RIM_TIME);

    JsonNode exp = expected("nvtrust_hopper_2023");
    assertTrue(r.valid(), r::error);
    assertEquals(GpuArchitecture.HOPPER, r.arch());
    assertEquals(exp.get("driver_version").asText(), r.driverVersion());
    assertEquals(exp.get("vbios_version").asText(), r.vbiosVersion());
    assertTrue(r.measurements().matched());
    assertEquals(
        exp.at("/rim_comparison/active_golden_measurements").asInt(), r.measurements().compared());
    assertEquals(List.of(), r.measurements().mismatchedIndexes());
    assertFalse(r.simulated());
    // OCSP asked for device certificates 1..3 (not the per-boot leaf, not the root) and RIM signer
    // chains 0..2.
    assertEquals(3 + 3 + 3, ocsp.checked.size(), ocsp.checked::toString);
    assertTrue(ocsp.checked.get(0).contains("GSP BROM"));
    assertTrue(r.ocsp().allGood());
    byte[] brom = GpuFixtures.chain2023().get(1).getEncoded();
    assertEquals(
        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(brom)), r.deviceId());
  }

  @Test
  void report2023WithProductionVbiosRimReportsMismatchedIndexes() throws Exception {
    RimStore store =
        RimStore.load(
            GpuFixtures.rimDir(
                tmp, "Driver_RIM_test_no_gpu.swidtag", "1010_0200_882_96005E0001_PROD.swidtag"),
            NvidiaRoots.rimSigningRootCa());
    GpuEvidenceVerifier verifier =
        GpuEvidenceVerifier.nvidia()
            .rimStore(store)
            .revocation(new GpuFixtures.RecordingRevocation())
            .build();

    GpuResult r =
        verifier.verifyDevice(
            GpuFixtures.report2023(), GpuFixtures.chain2023(), null, NONCE_2023, RIM_TIME);

    assertFalse(r.valid());
    assertEquals(GpuAttestationException.Reason.MEASUREMENT_MISMATCH, r.failure());
    List<Integer> expectedIndexes = new java.util.ArrayList<>();
    for (JsonNode pair :
        expected("nvtrust_hopper_2023").at("/rim_comparison_negative/mismatched_indexes_0_based")) {
      expectedIndexes.add(pair.get(0).asInt());
    }
    assertEquals(List.of(1, 2, 3, 9), expectedIndexes);
    assertEquals(expectedIndexes, r.measurements().mismatchedIndexes());
    assertEquals(MeasurementResult.Status.MISMATCHED, r.measurements().status());
    assertTrue(r.error().contains("[1, 2, 3, 9]"), r::error);
  }

  @Test
  void report2025VerifiesSignatureAndChainWithItsNonce() throws Exception {
    GpuEvidenceVerifier verifier =
        GpuEvidenceVerifier.nvidia().revocation(RevocationChecker.disabled()).build();
    GpuResult r =
        verifier.verifyDevice(
            GpuFixtures.report2025(),
            GpuFixtures.chain2025(),
            GpuArchitecture.HOPPER,
            NONCE_2025,
            java.time.Instant.parse("2026-01-01T00:00:00Z"));
    JsonNode exp = expected("nvtrust_hopper_2025");
    assertTrue(r.valid(), r::error);
    assertEquals(exp.get("driver_version").asText(), r.driverVersion());
    assertEquals(exp.get("vbios_version").asText(), r.vbiosVersion());
    assertEquals(MeasurementResult.Status.NOT_CHECKED, r.measurements().status());
    assertEquals("skipped", r.ocsp().summary());
  }

  @Test
  void report2025FailsWithAnyOtherNonce() throws Exception {
    GpuEvidenceVerifier verifier =
        GpuEvidenceVerifier.nvidia().revocation(RevocationChecker.disabled()).build();
    java.util.Random random = new java.util.Random(2025);
    for (int i = 0; i < 20; i++) {
      byte[] other = NONCE_2025.clone();
      other[random.nextInt(32)] ^= (byte) (1 + random.nextInt(255));
      GpuResult r =
          verifier.verifyDevice(
              GpuFixtures.report2025(), GpuFixtures.chain2025(), null, other, RIM_TIME);
      assertFalse(r.valid());
      assertEquals(GpuAttestationException.Reason.NONCE_MISMATCH, r.failure(), r::error);
    }
    GpuResult old =
        verifier.verifyDevice(
            GpuFixtures.report2025(), GpuFixtures.chain2025(), null, NONCE_2023, RIM_TIME);
    assertEquals(GpuAttestationException.Reason.NONCE_MISMATCH, old.failure());
  }

  @Test
  void report2025HasNoRimsInTheFixtureStore() throws Exception {
    RimStore store = RimStore.load(Fixtures.path("nvtrust/rims"), NvidiaRoots.rimSigningRootCa());
    assertEquals(26, store.rims().size(), () -> "rejected: " + store.rejected());
    GpuEvidenceVerifier verifier =
        GpuEvidenceVerifier.nvidia()
            .rimStore(store)
            .revocation(new GpuFixtures.RecordingRevocation())
            .build();
    GpuResult r =
        verifier.verifyDevice(
            GpuFixtures.report2025(), GpuFixtures.chain2025(), null, NONCE_2025, RIM_TIME);
    assertFalse(r.valid());
    assertEquals(GpuAttestationException.Reason.RIM_INVALID, r.failure());
    assertTrue(r.error().contains("no valid RIM for driver 550.90.07"), r::error);
  }
}
