package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.Fixtures;
import picocli.CommandLine;

class VerifyGpuCommandTest {
  private static final String NONCE_2023 =
      "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e";
  private static final String NONCE_2025 =
      "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
  @TempDir Path tmp;

  private record Run(int exit, String out, String err) {
    JsonNode json() throws Exception {
      return new ObjectMapper().readTree(out);
    }
  }

  private static Run run(String... args) {
    CommandLine cli = TeeKmsCli.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    List<String> all = new ArrayList<>(List.of("verify", "gpu"));
    all.addAll(List.of(args));
    int exit = cli.execute(all.toArray(String[]::new));
    return new Run(exit, out.toString(), err.toString());
  }

  private Path rims(String... names) throws Exception {
    Path dir = Files.createTempDirectory(tmp, "rims");
    for (String n : names) {
      Files.copy(Fixtures.path("nvtrust/rims/" + n), dir.resolve(n));
    }
    return dir;
  }

  @Test
  void report2023WithRimsIsValid() throws Exception {
    Run r =
        run(
            "--report",
            Fixtures.path("nvtrust/attestationReport_2023.txt").toString(),
            "--cert-chain",
            Fixtures.path("nvtrust/gpuAkCertChain_2023.txt").toString(),
            "--nonce",
            NONCE_2023,
            "--rims",
            rims("Driver_RIM_test_no_gpu.swidtag", "1010_0200_882_96005E0001_test_no_gpu.swidtag")
                .toString(),
            "--at",
            "2024-01-01T00:00:00Z",
            "--no-ocsp");
    assertEquals(0, r.exit(), r.out() + r.err());
    JsonNode j = r.json();
    assertTrue(j.get("valid").asBoolean());
    assertEquals("HOPPER", j.get("arch").asText());
    assertEquals("545.00", j.get("driverVersion").asText());
    assertEquals("96.00.5e.00.01", j.get("vbiosVersion").asText());
    assertTrue(j.at("/measurements/matched").asBoolean());
    assertEquals(0, j.at("/measurements/mismatchedIndexes").size());
    assertTrue(j.get("error").isNull());
  }

  @Test
  void productionVbiosRimReportsMismatchedIndexes() throws Exception {
    Run r =
        run(
            "--report",
            Fixtures.path("nvtrust/attestationReport_2023.txt").toString(),
            "--cert-chain",
            Fixtures.path("nvtrust/gpuAkCertChain_2023.txt").toString(),
            "--nonce",
            NONCE_2023,
            "--rims",
            rims("Driver_RIM_test_no_gpu.swidtag", "1010_0200_882_96005E0001_PROD.swidtag")
                .toString(),
            "--at",
            "2024-01-01T00:00:00Z",
            "--no-ocsp");
    assertEquals(1, r.exit());
    JsonNode j = r.json();
    assertFalse(j.get("valid").asBoolean());
    assertFalse(j.at("/measurements/matched").asBoolean());
    assertEquals("[1,2,3,9]", j.at("/measurements/mismatchedIndexes").toString());
    assertTrue(j.get("error").asText().startsWith("MEASUREMENT_MISMATCH"));
  }

  @Test
  void report2025ValidWithItsNonceOnly() throws Exception {
    String report = Fixtures.path("nvtrust/hopperAttestationReport.txt").toString();
    String chain = Fixtures.path("nvtrust/hopperCertChain.txt").toString();
    Run ok = run("--report", report, "--cert-chain", chain, "--nonce", NONCE_2025, "--no-ocsp");
    assertEquals(0, ok.exit(), ok.out());
    assertEquals("550.90.07", ok.json().get("driverVersion").asText());
    assertEquals("NOT_CHECKED", ok.json().at("/measurements/status").asText());
    Run bad = run("--report", report, "--cert-chain", chain, "--nonce", NONCE_2023, "--no-ocsp");
    assertEquals(1, bad.exit());
    assertTrue(bad.json().get("error").asText().startsWith("NONCE_MISMATCH"));
  }

  @Test
  void unreachableOcspFailsClosed() throws Exception {
    Run r =
        run(
            "--report",
            Fixtures.path("nvtrust/hopperAttestationReport.txt").toString(),
            "--cert-chain",
            Fixtures.path("nvtrust/hopperCertChain.txt").toString(),
            "--nonce",
            NONCE_2025,
            "--ocsp",
            "http://127.0.0.1:9/");
    assertEquals(1, r.exit(), r.out());
    assertEquals("OCSP_FAILED", r.json().get("failure").asText());
    assertEquals("unavailable", r.json().at("/ocsp/status").asText());
    Run grace =
        run(
            "--report",
            Fixtures.path("nvtrust/hopperAttestationReport.txt").toString(),
            "--cert-chain",
            Fixtures.path("nvtrust/hopperCertChain.txt").toString(),
            "--nonce",
            NONCE_2025,
            "--ocsp",
            "http://127.0.0.1:9/",
            "--ocsp-grace");
    assertEquals(0, grace.exit(), grace.out());
    assertEquals("unavailable", grace.json().at("/ocsp/status").asText());
  }

  @Test
  void usageErrorsExitTwo() throws Exception {
    String report = Fixtures.path("nvtrust/hopperAttestationReport.txt").toString();
    String chain = Fixtures.path("nvtrust/hopperCertChain.txt").toString();
    assertEquals(2, run("--report", report, "--cert-chain", chain, "--nonce", "abcd").exit());
    assertEquals(2, run("--report", report, "--cert-chain", chain).exit());
    assertEquals(
        2,
        run(
                "--report",
                tmp.resolve("missing").toString(),
                "--cert-chain",
                chain,
                "--nonce",
                NONCE_2025)
            .exit());
    assertEquals(
        2,
        run("--report", report, "--cert-chain", chain, "--nonce", NONCE_2025, "--at", "yesterday")
            .exit());
    assertEquals(
        2,
        run(
                "--report",
                report,
                "--cert-chain",
                chain,
                "--nonce",
                NONCE_2025,
                "--no-ocsp",
                "--ocsp",
                "http://x/")
            .exit());
    assertEquals(2, run("--report", report, "--cert-chain", report, "--nonce", NONCE_2025).exit());
  }

  @Test
  void garbageReportIsInvalidNotACrash() throws Exception {
    Path garbage = tmp.resolve("garbage.bin");
    Files.write(garbage, new byte[] {0x11, (byte) 0xE0, 1});
    Run r =
        run(
            "--report",
            garbage.toString(),
            "--cert-chain",
            Fixtures.path("nvtrust/hopperCertChain.txt").toString(),
            "--nonce",
            NONCE_2025,
            "--no-ocsp");
    assertEquals(1, r.exit());
    assertEquals("MALFORMED_REPORT", r.json().get("failure").asText());
  }
}
