package org.teekms.kms.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.gpu.GpuArchitecture;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuFixtures;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.kms.adapters.RaTlsPeerAttestation;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.admission.GpuFacts;
import org.teekms.kms.wiring.KmsConfig;

/**
 * The KMS's GPU verifier as configured by teekms.gpu.*: what it refuses to start with, and real
 * Hopper evidence.
 */
class GpuVerificationTest {
  @TempDir Path tmp;

  private static KmsConfig config(Map<String, String> settings) {
    return new SmallRyeConfigBuilder()
        .withMapping(KmsConfig.class)
        .withConverter(
            java.time.Duration.class, 100, new io.quarkus.runtime.configuration.DurationConverter())
        .withSources(new PropertiesConfigSource(settings, "test", 500))
        .build()
        .getConfigMapping(KmsConfig.class);
  }

  private static String refusal(Map<String, String> settings, boolean prod) {
    return assertThrows(
            IllegalStateException.class, () -> GpuVerification.build(config(settings), prod))
        .getMessage();
  }

  @Test
  void nvidiaModeRefusesToStartWithoutARimSource() {
    String m = refusal(Map.of(), false);
    assertTrue(m.contains("teekms.gpu.rim.directory or teekms.gpu.rim.service-url is required"), m);
    assertTrue(m.contains("teekms.gpu.verification=disabled"), m);
  }

  @Test
  void unsafeOrUnknownSettingsAreRefused() {
    String prod =
        refusal(
            Map.of(
                "teekms.gpu.rim.service-url",
                "https://rim.attestation.nvidia.com/v1/rim/",
                "teekms.gpu.ocsp.mode",
                "disabled"),
            true);
    assertTrue(prod.contains("teekms.gpu.ocsp.mode=disabled is refused in the prod profile"), prod);
    assertTrue(
        refusal(Map.of("teekms.gpu.verification", "maybe"), false)
            .contains("unknown teekms.gpu.verification"));
    assertTrue(
        refusal(Map.of("teekms.gpu.verification", "simulator"), false)
            .contains("needs teekms.simulator.enabled=true"));
    assertTrue(
        refusal(Map.of("teekms.gpu.rim.directory", "/nonexistent-rims"), false)
            .contains("teekms.gpu.rim.directory /nonexistent-rims"));
    assertTrue(
        refusal(
                Map.of("teekms.gpu.rim.directory", "/tmp", "teekms.gpu.ocsp.mode", "sometimes"),
                false)
            .contains("unknown teekms.gpu.ocsp.mode"));
  }

  @Test
  void disabledVerifiesNothing() {
    assertEquals(
        Optional.empty(),
        GpuVerification.build(config(Map.of("teekms.gpu.verification", "disabled")), true));
  }

  private GpuEvidenceVerifier nvidia(String ocspMode) throws Exception {
    Path rims =
        GpuFixtures.rimDir(
            java.nio.file.Files.createDirectories(tmp.resolve(ocspMode)),
            "Driver_RIM_test_no_gpu.swidtag",
            "1010_0200_882_96005E0001_test_no_gpu.swidtag");
    Map<String, String> m = new HashMap<>();
    m.put("teekms.gpu.rim.directory", rims.toString());
    m.put(
        "teekms.gpu.ocsp.responder-url",
        "http://127.0.0.1:9/"); // nothing listens: NVIDIA's responder is offline here
    m.put("teekms.gpu.ocsp.timeout", "2s");
    m.put("teekms.gpu.ocsp.mode", ocspMode);
    return GpuVerification.build(config(m), false).orElseThrow();
  }

  @Test
  void realHopperEvidenceVerifiesThroughTheKmsConfiguredVerifier() throws Exception {
    // Grace: the responder being unreachable is tolerated, everything else (chain to NVIDIA's root,
    // signature, nonce,
    // FWID, RIM signatures and measurements) is checked.
    GpuResult graced =
        nvidia("grace")
            .verifyDevice(
                GpuFixtures.report2023(),
                GpuFixtures.chain2023(),
                GpuArchitecture.HOPPER,
                GpuFixtures.NONCE_2023,
                GpuFixtures.RIM_TIME);
    assertTrue(graced.valid(), graced::error);
    assertTrue(graced.measurements().matched());
    GpuFacts.Gpu fact = RaTlsPeerAttestation.fact(graced);
    assertTrue(fact.valid());
    assertEquals("HOPPER", fact.arch());

    // Fail-closed (the default): the same evidence is refused while revocation cannot be confirmed.
    GpuResult closed =
        nvidia("fail-closed")
            .verifyDevice(
                GpuFixtures.report2023(),
                GpuFixtures.chain2023(),
                GpuArchitecture.HOPPER,
                GpuFixtures.NONCE_2023,
                GpuFixtures.RIM_TIME);
    assertEquals(
        Optional.of(DenyCode.GPU_REVOCATION_UNAVAILABLE),
        RaTlsPeerAttestation.fact(closed).refusal());

    // Another nonce (evidence from another TLS key).
    GpuResult replayed =
        nvidia("grace")
            .verifyDevice(
                GpuFixtures.report2023(),
                GpuFixtures.chain2023(),
                GpuArchitecture.HOPPER,
                new byte[32],
                GpuFixtures.RIM_TIME);
    assertEquals(
        Optional.of(DenyCode.GPU_NONCE_MISMATCH), RaTlsPeerAttestation.fact(replayed).refusal());
  }
}
