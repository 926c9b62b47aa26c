package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.Fixtures;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.ReportDataBinding;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.sim.SimulatedCvm;
import picocli.CommandLine;

/** {@code teekms verify ratls} and {@code teekms verify quote --event-log/--dstack}. */
class VerifyRatlsCommandTest {
  @TempDir Path dir;

  record Run(int exit, JsonNode json, String err) {}

  static Run run(String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cmd = TeeKmsCli.newCommandLine();
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    int exit = cmd.execute(args);
    return new Run(
        exit, exit == 2 ? null : new ObjectMapper().readTree(out.toString()), err.toString());
  }

  Path pem(String name, X509Certificate c) throws Exception {
    return Files.writeString(
        dir.resolve(name),
        "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(c.getEncoded())
            + "\n-----END CERTIFICATE-----\n");
  }

  String[] ratls(Path cert) throws Exception {
    Path collateral = SimulatedRaTls.TDX.collateral().writeTo(dir.resolve("collateral"));
    Path root = Files.writeString(dir.resolve("root.pem"), SimulatedRaTls.TDX.rootCertificatePem());
    return new String[] {
      "verify",
      "ratls",
      "--cert",
      cert.toString(),
      "--collateral",
      collateral.toString(),
      "--root-ca",
      root.toString(),
      "--mr-system",
      golden()
    };
  }

  /** The golden mrSystem of the simulated OS image: a reference boot's SHA-256(MRTD ‖ RTMR0-2). */
  static String golden() throws Exception {
    return HexFormat.of().formatHex(SimulatedRaTls.cvm("reference", false).mrSystem());
  }

  static String[] without(String[] args, String option) {
    List<String> out = new ArrayList<>(List.of(args));
    int i = out.indexOf(option);
    out.remove(i + 1);
    out.remove(i);
    return out.toArray(new String[0]);
  }

  @Test
  void theOsIsProvenOnlyByAGoldenMrSystemTheUserGives() throws Exception {
    String[] args =
        ratls(pem("c.pem", SimulatedRaTls.credentials("services: {os: 1}").certificate()));
    Run ok = run(args);
    assertEquals(0, ok.exit(), ok.json().toString());
    assertEquals(golden(), ok.json().at("/osMeasurement/mrSystem").asText());
    assertEquals(golden(), ok.json().at("/td/mrSystem").asText());
    assertTrue(ok.json().at("/osMeasurement/proven").asBoolean());
    assertEquals("mr-system", ok.json().at("/osMeasurement/by").asText());

    Run unproven = run(without(args, "--mr-system"));
    assertEquals(1, unproven.exit());
    assertFalse(unproven.json().get("valid").asBoolean());
    assertEquals("OS_IMAGE_NOT_PROVEN", unproven.json().get("failure").asText());
    assertTrue(
        unproven.json().get("error").asText().contains(golden()), "says which mrSystem to check");
    assertEquals(2, run(with(without(args, "--mr-system"), "--mr-system", "abcd")).exit());
  }

  @Test
  void aForgedIdentityOnItsOwnKernelIsNotValid() throws Exception {
    // the victim's compose (hence app id) and OS image claim in RTMR3, but another MRTD and kernel
    byte[] os = new byte[32];
    java.util.Arrays.fill(os, (byte) 5);
    SimulatedCvm forged =
        SimulatedRaTls.TDX
            .newCvm(new byte[48], false)
            .boot(
                SimulatedCvm.App.ofCompose("services: {victim: 1}", new byte[20])
                    .withOsImageHash(os),
                "ATTACKER");
    Run r =
        run(
            ratls(
                pem("forged.pem", SimulatedRaTls.factory(forged, null).create("x").certificate())));
    assertEquals(1, r.exit());
    assertEquals("OS_IMAGE_MEASUREMENT_MISMATCH", r.json().get("failure").asText());
    assertEquals(HexFormat.of().formatHex(os), r.json().at("/osMeasurement/osImageHash").asText());
    assertTrue(r.json().get("error").asText().contains("RTMR1"), r.json().get("error").asText());
    assertTrue(
        r.json().get("keyBound").asBoolean(), "everything else verifies: that is the attack");
    assertTrue(r.json().at("/eventLog/replayed").asBoolean());
  }

  @Test
  void verifyRatlsRefusesACertificateOfATdLaunchedForAnotherCompose() throws Exception {
    SimulatedCvm lying =
        SimulatedRaTls.TDX
            .newCvm(new byte[48], false)
            .launchWithMrConfigId(org.teekms.attest.eventlog.MrConfigId.v1(new byte[32]))
            .boot(SimulatedCvm.App.ofCompose("services: {launch: 2}", new byte[20]));
    Run r =
        run(ratls(pem("lying.pem", SimulatedRaTls.factory(lying, null).create("x").certificate())));
    assertEquals(1, r.exit(), r.err() + r.json());
    assertEquals("MR_CONFIG_ID_MISMATCH", r.json().get("failure").asText());
    assertEquals("MISMATCH", r.json().at("/eventLog/mrConfigId").asText());
  }

  @Test
  void verifyQuoteRefusesALaunchConfigurationNamingAnotherComposeAndReportsABindingOne()
      throws Exception {
    Path collateral = SimulatedRaTls.TDX.collateral().writeTo(dir.resolve("collateral"));
    Path root = Files.writeString(dir.resolve("root.pem"), SimulatedRaTls.TDX.rootCertificatePem());
    java.util.Map<String, byte[]> launches = new java.util.LinkedHashMap<>();
    launches.put("binds the compose hash", null);
    launches.put("zero (not bound)", new byte[48]);
    launches.put("MISMATCH", org.teekms.attest.eventlog.MrConfigId.v1(new byte[32]));
    for (var launch : launches.entrySet()) {
      SimulatedCvm cvm = SimulatedRaTls.TDX.newCvm(new byte[48], false);
      if (launch.getValue() != null) {
        cvm.launchWithMrConfigId(launch.getValue());
      }
      cvm.boot(SimulatedCvm.App.ofCompose("services: {launch: 1}", new byte[20]));
      var q = cvm.eventLog().quote(cvm, new byte[64]);
      Path quote =
          Files.writeString(
              dir.resolve("q.hex"), HexFormat.of().formatHex(q.quote().toByteArray()));
      Path log = Files.writeString(dir.resolve("log.json"), q.eventLogJson());
      Run r =
          run(
              "verify",
              "quote",
              "--quote",
              quote.toString(),
              "--event-log",
              log.toString(),
              "--collateral",
              collateral.toString(),
              "--root-ca",
              root.toString());
      assertEquals(
          launch.getKey(), r.json().at("/eventLog/mrConfigId").asText(), r.json().toString());
      boolean refused = launch.getKey().equals("MISMATCH");
      assertEquals(refused ? 1 : 0, r.exit(), r.err() + r.json());
      if (refused) {
        assertEquals("MR_CONFIG_ID_MISMATCH", r.json().get("failure").asText());
        assertTrue(
            r.json().get("error").asText().contains(r.json().at("/eventLog/composeHash").asText()));
      }
    }
  }

  static String[] with(String[] args, String... more) {
    List<String> out = new ArrayList<>(List.of(args));
    out.addAll(List.of(more));
    return out.toArray(new String[0]);
  }

  @Test
  void verifiesASimulatedRaTlsCertificate() throws Exception {
    Run r = run(ratls(pem("c.pem", SimulatedRaTls.credentials("services: {a: 1}").certificate())));
    assertEquals(0, r.exit(), r.err() + r.json());
    JsonNode j = r.json();
    assertTrue(j.get("valid").asBoolean());
    assertTrue(j.get("keyBound").asBoolean());
    assertEquals("UpToDate", j.get("status").asText());
    assertTrue(j.get("eventLog").get("replayed").asBoolean());
    assertEquals(40, j.get("eventLog").get("appId").asText().length());
    assertEquals(j.get("td").get("rtmr3").asText(), j.get("eventLog").get("rtmr3").asText());
    assertTrue(j.get("certificate").get("signatureValid").asBoolean());
    assertFalse(j.get("gpuEvidence").get("present").asBoolean());
  }

  @Test
  void gpuEvidenceIsReportedMeasuredAndKeyBound() throws Exception {
    var gpus = org.teekms.attest.gpu.SimulatedGpuEvidenceProvider.enable(1);
    SimulatedCvm cvm = SimulatedRaTls.cvm("services: {gpu: 1}", false);
    X509Certificate c = SimulatedRaTls.factory(cvm, gpus).create("gpu").certificate();
    Run r = run(ratls(pem("gpu.pem", c)));
    assertEquals(0, r.exit(), r.json().toString());
    JsonNode g = r.json().get("gpuEvidence");
    assertTrue(g.get("present").asBoolean());
    assertEquals(1, g.get("gpus").asInt());
    assertTrue(g.get("measuredInRtmr3").asBoolean());
    assertTrue(g.get("nonceBound").asBoolean());
    assertEquals(
        g.get("sha384").asText(), r.json().get("eventLog").get("gpuEvidenceHash").asText());
  }

  @Test
  void aCertificateWhoseQuoteBindsAnotherKeyIsInvalid() throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.cvm("services: {b: 1}", false);
    KeyPair mine = RaTlsCertificateFactory.newKeyPair();
    RuntimeEventLog.QuoteWithLog q =
        cvm.eventLog()
            .quote(
                cvm,
                ReportDataBinding.forSpki(
                    RaTlsCertificateFactory.newKeyPair().getPublic().getEncoded()));
    X509Certificate c =
        new RaTlsCertificateFactory(
                cvm, cvm.eventLog(), null, SimulatedRaTls.CLOCK, Duration.ofHours(1))
            .build(
                mine,
                "x",
                q.quote().toByteArray(),
                q.eventLogJson().getBytes(StandardCharsets.UTF_8),
                null);
    Run r = run(ratls(pem("bad.pem", c)));
    assertEquals(1, r.exit());
    assertFalse(r.json().get("valid").asBoolean());
    assertFalse(r.json().get("keyBound").asBoolean());
    assertEquals("KEY_NOT_BOUND", r.json().get("failure").asText());
  }

  @Test
  void underIntelRootASimulatedCertificateIsInvalid() throws Exception {
    Path cert = pem("c.pem", SimulatedRaTls.credentials("services: {c: 1}").certificate());
    Path collateral = SimulatedRaTls.TDX.collateral().writeTo(dir.resolve("collateral"));
    Run r =
        run("verify", "ratls", "--cert", cert.toString(), "--collateral", collateral.toString());
    assertEquals(1, r.exit());
    assertTrue(r.json().get("keyBound").asBoolean());
    assertTrue(
        r.json().get("failure").asText().matches("COLLATERAL_INVALID|PCK_CHAIN_INVALID"),
        r.json().toString());
  }

  @Test
  void notAnRaTlsCertificateIsInvalidNotAUsageError() throws Exception {
    Path pem =
        pem(
            "plain.pem",
            org.teekms.attest.tdx.Pem.certificates(Fixtures.bytes("common/intel_sgx_root_ca.pem"))
                .get(0));
    Run r = run(ratls(pem));
    assertEquals(1, r.exit());
    assertEquals("MALFORMED_CERTIFICATE", r.json().get("failure").asText());
    assertEquals(2, run("verify", "ratls", "--collateral", "x").exit());
  }

  static final String DSTACK_COLLATERAL = "dcap-qvl/tdx_quote_v5_outdated_collateral.json";
  static final String DSTACK_AT = "2026-03-20T10:41:14Z";

  @Test
  void quoteWithDstackFileReplaysTheFixtureLog() throws Exception {
    Run r =
        run(
            "verify",
            "quote",
            "--dstack",
            Fixtures.path("dstack/quote-report.json").toString(),
            "--collateral",
            Fixtures.path(DSTACK_COLLATERAL).toString(),
            "--at",
            DSTACK_AT);
    assertEquals(0, r.exit(), r.err());
    JsonNode e = r.json().get("eventLog");
    JsonNode expected =
        new ObjectMapper()
            .readTree(Fixtures.text("expected/dstack_event_log_replay.json"))
            .get("dstack/quote-report.json");
    assertTrue(e.get("replayed").asBoolean());
    assertEquals(expected.get("app_id").asText(), e.get("appId").asText());
    assertEquals(expected.get("compose_hash").asText(), e.get("composeHash").asText());
    assertEquals(expected.get("instance_id").asText(), e.get("instanceId").asText());
    assertEquals(
        expected.get("vm_config").get("os_image_hash").asText(), e.get("osImageHash").asText());
    assertEquals(expected.get("replayed_rtmrs").get("rtmr3").asText(), e.get("rtmr3").asText());
    assertEquals(
        "{\"name\":\"local-sgx\",\"id\":\"1b7a49378403249b6986a907844cab0921eca32dd47e657f3c10311ccaeccf8b\"}",
        e.get("keyProvider").asText());
    // mrSystem of the real quote, computed independently (Python hashlib over the quote's MRTD and
    // RTMR0-2)
    assertEquals(FIXTURE_MR_SYSTEM, r.json().at("/osMeasurement/mrSystem").asText());
    assertFalse(
        r.json().at("/osMeasurement/proven").asBoolean(),
        "reported, not enforced without --mr-system");
  }

  static final String FIXTURE_MR_SYSTEM =
      "93fe7eddb11e0d6709fa4a72bb08518f8ce4fabb624bf6d3730f4adbde1081b6";

  @Test
  void quoteChecksTheMrSystemWhenTheUserGivesGoldenValues() throws Exception {
    String[] args = {
      "verify",
      "quote",
      "--dstack",
      Fixtures.path("dstack/quote-report.json").toString(),
      "--collateral",
      Fixtures.path(DSTACK_COLLATERAL).toString(),
      "--at",
      DSTACK_AT
    };
    Run ok = run(with(args, "--mr-system", "0x" + FIXTURE_MR_SYSTEM));
    assertEquals(0, ok.exit(), ok.err());
    assertTrue(ok.json().at("/osMeasurement/proven").asBoolean());
    Run other = run(with(args, "--mr-system", "00".repeat(32)));
    assertEquals(1, other.exit());
    assertEquals("OS_IMAGE_MEASUREMENT_MISMATCH", other.json().get("failure").asText());
  }

  @Test
  void quoteWithEventLogFileAndAnEditedLog() throws Exception {
    JsonNode report = new ObjectMapper().readTree(Fixtures.text("dstack/quote-report.json"));
    Path quote = Files.writeString(dir.resolve("q.hex"), report.get("quote").asText());
    String log = report.get("event_log").asText();
    Path good = Files.writeString(dir.resolve("log.json"), log);
    Run ok =
        run(
            "verify",
            "quote",
            "--quote",
            quote.toString(),
            "--event-log",
            good.toString(),
            "--collateral",
            Fixtures.path(DSTACK_COLLATERAL).toString(),
            "--at",
            DSTACK_AT);
    assertEquals(0, ok.exit(), ok.err());
    assertTrue(ok.json().get("eventLog").get("replayed").asBoolean());
    assertTrue(ok.json().get("eventLog").get("osImageHash").isNull());

    // one byte of the instance-id payload edited
    String edited = log.replace("\"event_payload\":\"c3714eb6", "\"event_payload\":\"c3714eb7");
    Path bad = Files.writeString(dir.resolve("bad.json"), edited);
    Run r =
        run(
            "verify",
            "quote",
            "--quote",
            quote.toString(),
            "--event-log",
            bad.toString(),
            "--collateral",
            Fixtures.path(DSTACK_COLLATERAL).toString(),
            "--at",
            DSTACK_AT);
    assertEquals(1, r.exit());
    assertFalse(r.json().get("valid").asBoolean());
    assertEquals("UpToDate", r.json().get("status").asText(), "the quote itself is fine");
    assertFalse(r.json().get("eventLog").get("replayed").asBoolean());
    assertEquals("EVENT_LOG_INVALID", r.json().get("failure").asText());
    assertTrue(
        r.json().get("eventLog").get("error").asText().contains("logged digest does not match"));

    assertEquals(
        2, run("verify", "quote", "--dstack", "x", "--quote", "y", "--collateral", "z").exit());
  }
}
