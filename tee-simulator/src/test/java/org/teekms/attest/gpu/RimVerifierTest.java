package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.RIM_INVALID;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.Fixtures;

class RimVerifierTest {
  @TempDir Path tmp;

  private static String rim(String name) {
    return Fixtures.text("nvtrust/rims/" + name);
  }

  @Test
  void allFixtureRimsVerifyAndParse() throws Exception {
    RimStore store = RimStore.load(Fixtures.path("nvtrust/rims"), NvidiaRoots.rimSigningRootCa());
    assertEquals(26, store.rims().size(), () -> store.rejected().toString());
    Rim driver =
        store.rims().stream()
            .filter(r -> r.name().equals("Driver_RIM_test_no_gpu.swidtag"))
            .findFirst()
            .orElseThrow();
    assertEquals(Rim.Kind.DRIVER, driver.kind());
    assertEquals("545.00", driver.version());
    assertEquals("GH100", driver.product());
    assertEquals(64, driver.measurements().size());
    assertEquals(21, driver.measurements().stream().filter(Rim.GoldenMeasurement::active).count());
    assertEquals(
        4, driver.signerChain().certificates().size(), "L4, L3, CA, and the configured root");
    assertTrue(store.rims().stream().filter(r -> r.kind() == Rim.Kind.VBIOS).count() == 25);
  }

  @Test
  void tamperedMeasurementBreaksTheDigest() {
    String xml = rim("1010_0200_882_96005E0001_PROD.swidtag");
    String tampered =
        xml.replaceFirst(
            "active=\"True\" alternatives=\"1\" ns2:Hash0=\"[0-9a-f]",
            "active=\"True\" alternatives=\"1\" ns2:Hash0=\"f");
    assertTrue(!tampered.equals(xml));
    assertRim(tampered, "document digest bad");
  }

  @Test
  void signerChainMustReachTheConfiguredRoot() throws Exception {
    GpuSimulator sim = GpuSimulator.create(1, new SecureRandom());
    GpuAttestationException e =
        assertThrows(
            GpuAttestationException.class,
            () ->
                RimVerifier.verify(
                    rim("Driver_RIM_test_no_gpu.swidtag").getBytes(StandardCharsets.UTF_8),
                    sim.rimRoot(),
                    "driver"));
    assertEquals(RIM_INVALID, e.reason());
    assertTrue(e.getMessage().contains("not by the trust anchor"), e.getMessage());
  }

  @Test
  void doctypesAndEntitiesAreRefused() {
    String xml = rim("Driver_RIM_test_no_gpu.swidtag");
    assertRim("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>" + xml, "DTD");
    assertRim("<?xml version=\"1.0\"?><!DOCTYPE lol [<!ENTITY a \"aaaa\">]>" + xml, "DTD");
  }

  @Test
  void structuralAttacksAreRefused() {
    String xml = rim("Driver_RIM_test_no_gpu.swidtag");
    assertRim("<x/>", "not a SWID SoftwareIdentity");
    assertRim(xml.replace("URI=\"\"", "URI=\"#foo\""), "");
    int sig = xml.indexOf("<ds:Signature");
    int end = xml.indexOf("</ds:Signature>") + "</ds:Signature>".length();
    String signature = xml.substring(sig, end);
    assertRim(xml.substring(0, sig) + xml.substring(end), "0 XML signatures");
    assertRim(xml.substring(0, end) + signature + xml.substring(end), "2 XML signatures");
    assertRim(xml.replace("alternatives=\"1\"", "alternatives=\"2\""), "");
    assertRim("not xml at all", "well-formed");
  }

  @Test
  void storeSelectionIsUnambiguousAndTimeBound() throws Exception {
    RimStore both =
        RimStore.load(
            GpuFixtures.rimDir(
                tmp,
                "Driver_RIM_test_no_gpu.swidtag",
                "1010_0200_882_96005E0001_test_no_gpu.swidtag",
                "1010_0200_882_96005E0001_PROD.swidtag"),
            NvidiaRoots.rimSigningRootCa());
    HopperReport report = HopperReportParser.parse(GpuFixtures.report2023());
    assertEquals(
        "Driver_RIM_test_no_gpu.swidtag", both.driverRim(report, GpuFixtures.RIM_TIME).name());
    GpuAttestationException ambiguous =
        assertThrows(
            GpuAttestationException.class, () -> both.vbiosRim(report, GpuFixtures.RIM_TIME));
    assertTrue(ambiguous.getMessage().contains("ambiguous"), ambiguous.getMessage());
    GpuAttestationException expired =
        assertThrows(
            GpuAttestationException.class,
            () -> both.driverRim(report, Instant.parse("2025-06-27T00:00:00Z")));
    assertTrue(expired.getMessage().contains("not valid at"), expired.getMessage());
    Path dir = GpuFixtures.rimDir(tmp);
    Files.writeString(dir.resolve("broken.swidtag"), "<x/>");
    RimStore broken = RimStore.load(dir, NvidiaRoots.rimSigningRootCa());
    GpuAttestationException none =
        assertThrows(
            GpuAttestationException.class, () -> broken.driverRim(report, GpuFixtures.RIM_TIME));
    assertTrue(none.getMessage().contains("broken.swidtag"), none.getMessage());
  }

  private static void assertRim(String xml, String fragment) {
    GpuAttestationException e =
        assertThrows(
            GpuAttestationException.class,
            () ->
                RimVerifier.verify(
                    xml.getBytes(StandardCharsets.UTF_8), NvidiaRoots.rimSigningRootCa(), "t"));
    assertEquals(RIM_INVALID, e.reason());
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
  }
}
