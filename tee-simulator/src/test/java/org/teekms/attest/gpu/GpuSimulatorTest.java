package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Simulated evidence: same layout and checks as real evidence, trusted only under the simulator's
 * own roots.
 */
class GpuSimulatorTest {
  private static final Instant AT = Instant.parse("2026-11-24T00:00:00Z");
  private static final GpuSimulator SIM = GpuSimulator.create(2, new SecureRandom());
  @TempDir Path tmp;

  private RimStore simulatedRims() throws Exception {
    Path dir = tmp.resolve("sim-rims");
    SIM.writeRims(dir);
    RimStore store = RimStore.load(dir, SIM.rimRoot());
    assertEquals(2, store.rims().size(), () -> store.rejected().toString());
    return store;
  }

  @Test
  void simulatedEvidenceVerifiesUnderSimulatedRootsWithRimsAndLocalOcsp() throws Exception {
    byte[] nonce = GpuNonce.forSpki(TestCerts.key().getPublic().getEncoded());
    GpuEvidence evidence = SimulatedGpuEvidenceProvider.of(SIM).collect(nonce);
    List<X509Certificate> all = new ArrayList<>();
    for (int i = 0; i < SIM.gpuCount(); i++) {
      all.addAll(SIM.chain(i));
    }
    RimStore rims = simulatedRims();
    for (Rim rim : rims.rims()) {
      all.addAll(rim.signerChain().certificates());
    }
    try (LocalOcspResponder responder =
        new LocalOcspResponder(
            serial -> signerFor(all, serial),
            AT.minus(Duration.ofMinutes(5)),
            AT.plus(Duration.ofDays(1)))) {
      GpuEvidenceVerifier verifier =
          GpuEvidenceVerifier.builder(SIM.deviceRoot())
              .rimStore(rims)
              .revocation(
                  new OcspChecker(OcspChecker.Config.defaults().withResponder(responder.uri())))
              .build();
      List<GpuResult> results = verifier.verify(GpuEvidence.decode(evidence.encode()), nonce, AT);
      assertEquals(2, results.size());
      for (GpuResult r : results) {
        assertTrue(r.valid(), r::error);
        assertTrue(r.simulated());
        assertTrue(r.measurements().matched());
        assertEquals(33, r.measurements().compared());
        assertTrue(r.ocsp().allGood(), r.ocsp()::firstProblem);
        assertEquals(
            3 + 2 + 2, r.ocsp().certificates().size()); // device 1..3, each RIM signer + its CA
        assertEquals(GpuSimulator.DRIVER_VERSION, r.driverVersion());
        assertEquals(GpuSimulator.VBIOS_VERSION, r.vbiosVersion());
      }
      assertFalse(results.get(0).deviceId().equals(results.get(1).deviceId()));
      assertTrue(
          GpuEvidencePolicy.strict(2).apply(results).allowed(),
          () -> GpuEvidencePolicy.strict(2).apply(results).reasons().toString());

      // The revoked device identity of GPU 1 makes exactly that GPU fail, and the policy deny.
      responder.statuses.put(
          SIM.chain(1).get(1).getSerialNumber(),
          new org.bouncycastle.cert.ocsp.RevokedStatus(
              java.util.Date.from(AT.minus(Duration.ofDays(1))),
              org.bouncycastle.asn1.x509.CRLReason.keyCompromise));
      GpuEvidenceVerifier fresh =
          GpuEvidenceVerifier.builder(SIM.deviceRoot())
              .rimStore(rims)
              .revocation(
                  new OcspChecker(OcspChecker.Config.defaults().withResponder(responder.uri())))
              .build();
      List<GpuResult> revoked = fresh.verify(evidence, nonce, AT);
      assertTrue(revoked.get(0).valid());
      assertEquals(GpuAttestationException.Reason.OCSP_FAILED, revoked.get(1).failure());
      assertTrue(revoked.get(1).error().contains("REVOKED"), revoked.get(1).error());
      assertFalse(GpuEvidencePolicy.strict(2).apply(revoked).allowed());
    }
  }

  private static LocalOcspResponder.Signer signerFor(List<X509Certificate> all, BigInteger serial) {
    for (X509Certificate c : all) {
      if (c.getSerialNumber().equals(serial)) {
        for (X509Certificate issuer : all) {
          if (issuer.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
            return new LocalOcspResponder.Signer(issuer, SIM.caKeyOrRim(issuer));
          }
        }
      }
    }
    throw new IllegalArgumentException("unknown serial " + serial);
  }

  @Test
  void simulatedEvidenceNeverVerifiesUnderNvidiaRoots() throws Exception {
    byte[] nonce = new byte[32];
    GpuEvidence evidence = SIM.evidence(nonce);
    GpuEvidenceVerifier nvidia =
        GpuEvidenceVerifier.nvidia().revocation(RevocationChecker.disabled()).build();
    for (GpuResult r : nvidia.verify(evidence, nonce, AT)) {
      assertFalse(r.valid());
      assertEquals(GpuAttestationException.Reason.CERT_CHAIN_INVALID, r.failure());
      assertTrue(r.error().contains("SIMULATED"), r::error);
    }
    // Nor do simulated RIMs load under NVIDIA's RIM root.
    Path dir = tmp.resolve("rims");
    SIM.writeRims(dir);
    RimStore store = RimStore.load(dir, NvidiaRoots.rimSigningRootCa());
    assertEquals(0, store.rims().size());
    assertEquals(2, store.rejected().size());
    // And a chain re-rooted on NVIDIA's real root certificate fails its signature check.
    List<X509Certificate> grafted = new ArrayList<>(SIM.chain(0).subList(0, 4));
    GpuResult r = nvidia.verifyDevice(SIM.report(0, nonce), grafted, null, nonce, AT);
    assertFalse(r.valid());
  }

  @Test
  void realEvidenceDoesNotVerifyUnderSimulatedRoots() throws Exception {
    GpuEvidenceVerifier simulated =
        GpuEvidenceVerifier.builder(SIM.deviceRoot())
            .revocation(RevocationChecker.disabled())
            .build();
    GpuResult r =
        simulated.verifyDevice(
            GpuFixtures.report2025(), GpuFixtures.chain2025(), null, GpuFixtures.NONCE_2025, AT);
    assertEquals(GpuAttestationException.Reason.CERT_CHAIN_INVALID, r.failure());
  }

  @Test
  void fwidMismatchIsDetected() throws Exception {
    byte[] nonce = new byte[32];
    byte[] report = SIM.report(0, nonce, SIM.fwid(1), GpuSimulator.DRIVER_VERSION);
    GpuResult r =
        GpuEvidenceVerifier.builder(SIM.deviceRoot())
            .revocation(RevocationChecker.disabled())
            .build()
            .verifyDevice(report, SIM.chain(0), GpuArchitecture.HOPPER, nonce, AT);
    assertEquals(GpuAttestationException.Reason.FWID_MISMATCH, r.failure());
    assertTrue(r.error().contains("differs from the certificate FWID"), r::error);
  }

  @Test
  void reportForAnotherDriverFindsNoRim() throws Exception {
    byte[] nonce = new byte[32];
    byte[] report = SIM.report(0, nonce, SIM.fwid(0), "560.35.03");
    GpuResult r =
        GpuEvidenceVerifier.builder(SIM.deviceRoot())
            .rimStore(simulatedRims())
            .revocation(RevocationChecker.disabled())
            .build()
            .verifyDevice(report, SIM.chain(0), null, nonce, AT);
    assertEquals(GpuAttestationException.Reason.RIM_INVALID, r.failure());
    assertTrue(r.error().contains("no valid RIM for driver 560.35.03"), r::error);
    assertEquals("560.35.03", r.driverVersion());
  }

  @Test
  void declaredArchitectureMustMatch() throws Exception {
    byte[] nonce = new byte[32];
    GpuResult r =
        GpuEvidenceVerifier.builder(SIM.deviceRoot())
            .revocation(RevocationChecker.disabled())
            .build()
            .verifyDevice(SIM.report(0, nonce), SIM.chain(0), GpuArchitecture.BLACKWELL, nonce, AT);
    assertEquals(GpuAttestationException.Reason.UNSUPPORTED_ARCHITECTURE, r.failure());
  }

  @Test
  void simulatedRimTamperingIsDetected() throws Exception {
    String xml = new String(SIM.driverRim(), java.nio.charset.StandardCharsets.UTF_8);
    String tampered = xml.replaceFirst("active=\"False\"", "active=\"True\"");
    assertFalse(xml.equals(tampered));
    GpuAttestationException e =
        assertThrows(
            GpuAttestationException.class,
            () ->
                RimVerifier.verify(
                    tampered.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    SIM.rimRoot(),
                    "t"));
    assertTrue(e.getMessage().contains("document digest bad"), e.getMessage());
  }

  @Test
  void simulatorNeedsAnExplicitGpuCount() {
    assertThrows(IllegalArgumentException.class, () -> GpuSimulator.create(0, new SecureRandom()));
    assertThrows(IllegalArgumentException.class, () -> GpuSimulator.create(9, new SecureRandom()));
  }

  @Test
  void seededSimulatorsShareRootsRimsAndFirstGpusWhateverTheirCounts() throws Exception {
    byte[] seed = java.util.HexFormat.of().parseHex("00112233445566778899aabbccddeeff");
    GpuSimulator one = GpuSimulator.seeded(1, seed);
    GpuSimulator eight = GpuSimulator.seeded(8, seed);
    assertTrue(
        java.util.Arrays.equals(one.deviceRoot().getEncoded(), eight.deviceRoot().getEncoded()));
    assertTrue(java.util.Arrays.equals(one.rimRoot().getEncoded(), eight.rimRoot().getEncoded()));
    assertTrue(
        java.util.Arrays.equals(
            one.chain(0).get(1).getEncoded(), eight.chain(0).get(1).getEncoded()));
    // A CVM's one seeded GPU verifies (RIMs matched) under the 8-GPU KMS's roots and RIMs.
    Path dir = tmp.resolve("seeded-rims");
    eight.writeRims(dir);
    GpuEvidenceVerifier verifier =
        GpuEvidenceVerifier.builder(eight.deviceRoot())
            .rimStore(RimStore.load(dir, eight.rimRoot()))
            .revocation(RevocationChecker.disabled())
            .build();
    byte[] nonce = GpuNonce.forSpki(TestCerts.key().getPublic().getEncoded());
    List<GpuResult> results = verifier.verify(one.evidence(nonce), nonce, AT);
    assertTrue(results.get(0).valid(), results.toString());
    assertTrue(results.get(0).measurements().matched());
    // Another seed is another root: refused.
    GpuSimulator other = GpuSimulator.seeded(1, new byte[16]);
    assertFalse(verifier.verify(other.evidence(nonce), nonce, AT).get(0).valid());
    assertThrows(IllegalArgumentException.class, () -> GpuSimulator.seeded(1, new byte[15]));
    assertThrows(IllegalArgumentException.class, () -> GpuSimulator.seeded(9, seed));
  }
}
