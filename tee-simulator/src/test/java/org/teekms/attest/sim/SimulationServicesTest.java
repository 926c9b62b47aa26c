package org.teekms.attest.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLClassLoader;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.gpu.GpuSimulation;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.Rim;
import org.teekms.attest.gpu.RimStore;
import org.teekms.attest.gpu.RimVerifier;
import org.teekms.attest.provider.TdxSimulation;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdxQuote;

/** What production code gets through ServiceLoader when this module is on the class path. */
class SimulationServicesTest {
  private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
  private static final byte[] SEED = HexFormat.of().parseHex("00112233445566778899aabbccddeeff");

  @Test
  void aSeededPlatformQuotesUnderTheRootEveryProcessWithTheSameSeedDerives() throws Exception {
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    TdxSimulation.Platform platform =
        TdxSimulation.load("test").enable("SimulationServicesTest", clock, Optional.of(SEED));
    assertEquals(
        SimulatedTdx.enableSeeded("SimulationServicesTest", clock, SEED).rootCertificate(),
        platform.rootCertificate());

    TdxSimulation.Cvm cvm =
        platform.newCvm(new byte[48]).bootCompose("services: {}\n", new byte[20]);
    byte[] reportData = new byte[64];
    reportData[0] = 9;
    byte[] quote = cvm.eventLog().quote(cvm, reportData).quote().toByteArray();
    QuoteVerificationResult r =
        new DcapQuoteVerifier(platform.rootCertificate())
            .verify(TdxQuote.parse(quote), platform.collateralSource(), NOW);
    assertTrue(r.valid(), () -> r.failure() + ": " + r.error());
    assertArrayEquals(reportData, r.td().reportData().toByteArray());

    TdxSimulation.Platform other =
        TdxSimulation.load("test").enable("SimulationServicesTest", clock, Optional.empty());
    assertNotEquals(platform.rootCertificate(), other.rootCertificate());
  }

  @Test
  void gpusSimulatedFromASeedVerifyUnderTheRootsAndRimsOfThatSeed() throws Exception {
    GpuSimulation gpus = GpuSimulation.load("test");
    GpuSimulation.Roots roots = gpus.roots(SEED);
    List<Rim> rims = new ArrayList<>();
    for (var e : roots.rims().entrySet()) {
      rims.add(RimVerifier.verify(e.getValue().toByteArray(), roots.rimRoot(), e.getKey()));
    }
    GpuEvidenceVerifier verifier =
        GpuEvidenceVerifier.builder(roots.deviceRoot())
            .rimStore(RimStore.of(rims))
            .revocation(RevocationChecker.disabled())
            .build();
    byte[] nonce = new byte[32];
    nonce[0] = 1;
    GpuEvidence evidence = gpus.evidenceProvider(2, Optional.of(SEED)).collect(nonce);
    List<GpuResult> results = verifier.verify(evidence, nonce, NOW);
    assertEquals(2, results.size());
    for (GpuResult r : results) {
      assertTrue(r.valid(), () -> r.failure() + ": " + r.error());
    }
  }

  @Test
  void anExplicitLoaderOverTheSimulatorsCodeFindsBothServices() throws Exception {
    try (URLClassLoader loader =
        new URLClassLoader(
            new java.net.URL[] {SimulatedTdx.codeLocation().toUri().toURL()},
            TdxSimulation.class.getClassLoader())) {
      assertEquals(
          SimulatedTdxService.class.getName(),
          TdxSimulation.load("test", loader).getClass().getName());
      assertEquals(
          SimulatedGpuService.class.getName(),
          GpuSimulation.load("test", loader).getClass().getName());
    }
  }
}
