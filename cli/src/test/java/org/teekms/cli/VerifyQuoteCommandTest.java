package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.Fixtures;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;
import org.teekms.attest.tdx.collateral.FakePcsServer;
import picocli.CommandLine;

class VerifyQuoteCommandTest {
  private record Run(int exit, String out, String err) {
    JsonNode json() throws Exception {
      return new ObjectMapper().readTree(out);
    }
  }

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cmd = TeeKmsCli.newCommandLine();
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    int exit = cmd.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private static String f(String fixture) {
    return Fixtures.path(fixture).toString();
  }

  @Test
  void validTdxQuotePrintsTheContractAndExitsZero() throws Exception {
    Run r =
        run(
            "verify",
            "quote",
            "--quote",
            f("dcap-qvl/tdx_quote_v4.bin"),
            "--collateral",
            f("dcap-qvl/tdx_quote_v4_collateral.json"),
            "--at",
            "2025-07-19T10:00:34Z");
    assertEquals(0, r.exit(), r.err());
    JsonNode j = r.json();
    assertTrue(j.get("valid").asBoolean());
    assertEquals("UpToDate", j.get("status").asText());
    assertEquals(0, j.get("advisoryIds").size());
    assertFalse(j.has("error"));
    assertEquals(4, j.get("quoteVersion").asInt());
    assertEquals("TDX", j.get("teeType").asText());
    assertEquals("b0c06f000000", j.get("fmspc").asText());
    JsonNode td = j.get("td");
    assertEquals(
        "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
        td.get("mrTd").asText());
    assertEquals(
        "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0",
        td.get("rtmr0").asText());
    assertEquals(96, td.get("rtmr3").asText().length());
    assertEquals(128, td.get("reportData").asText().length());
    assertEquals(96, td.get("mrConfigId").asText().length());
    assertEquals("0000001000000000", td.get("tdAttributes").asText());
    assertFalse(td.get("debug").asBoolean());
    assertEquals("06010300000000000000000000000000", td.get("teeTcbSvn").asText());
  }

  @Test
  void noMatchingTcbLevelIsInvalidAndExitsOne() throws Exception {
    Run r =
        run(
            "verify",
            "quote",
            "--quote",
            f("dcap-qvl/tdx-quote.hex"),
            "--collateral",
            f("dcap-qvl/tdx_quote_v4_collateral.json"),
            "--at",
            "2025-07-19T10:00:34Z",
            "--root-ca",
            f("common/intel_sgx_root_ca.pem"));
    assertEquals(1, r.exit());
    JsonNode j = r.json();
    assertFalse(j.get("valid").asBoolean());
    assertTrue(j.get("error").asText().startsWith("No matching TCB level found"));
    assertEquals("TCB_LEVEL_NOT_FOUND", j.get("failure").asText());
    assertEquals("TDX", j.get("teeType").asText());
  }

  @Test
  void sgxQuoteAndCollateralDirectory() throws Exception {
    Run r =
        run(
            "verify",
            "quote",
            "--quote",
            f("dcap-qvl/sgx_quote_v3.bin"),
            "--collateral",
            f("dcap-qvl/sgx_quote_v3_collateral.json"),
            "--at",
            "2025-07-19T10:01:17Z");
    assertEquals(0, r.exit(), r.out());
    assertEquals("SGX", r.json().get("teeType").asText());
    assertEquals("ConfigurationAndSWHardeningNeeded", r.json().get("status").asText());
    assertEquals("INTEL-SA-00289", r.json().get("advisoryIds").get(0).asText());
  }

  @Test
  void malformedQuoteIsInvalidNotAUsageError(@TempDir Path dir) throws Exception {
    Path junk = dir.resolve("junk.hex");
    java.nio.file.Files.writeString(junk, "0x0400020081");
    Run r =
        run(
            "verify",
            "quote",
            "--quote",
            junk.toString(),
            "--collateral",
            f("dcap-qvl/tdx_quote_v4_collateral.json"),
            "--at",
            "2025-07-19T10:00:34Z");
    assertEquals(1, r.exit());
    assertEquals("MALFORMED_QUOTE", r.json().get("failure").asText());
  }

  @Test
  void malformedCollateralIsInvalid(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("collateral.json");
    java.nio.file.Files.writeString(bad, "{\"tcb_info\": 1}");
    Run r =
        run(
            "verify",
            "quote",
            "--quote",
            f("dcap-qvl/tdx_quote_v4.bin"),
            "--collateral",
            bad.toString(),
            "--at",
            "2025-07-19T10:00:34Z");
    assertEquals(1, r.exit());
    assertEquals("COLLATERAL_UNAVAILABLE", r.json().get("failure").asText());
  }

  @Test
  void usageErrorsExitTwo() {
    assertEquals(2, run("verify", "quote", "--quote", f("dcap-qvl/tdx_quote_v4.bin")).exit());
    assertEquals(
        2,
        run(
                "verify",
                "quote",
                "--quote",
                f("dcap-qvl/tdx_quote_v4.bin"),
                "--collateral",
                f("dcap-qvl/tdx_quote_v4_collateral.json"),
                "--at",
                "yesterday")
            .exit());
    assertEquals(
        2,
        run(
                "verify",
                "quote",
                "--quote",
                "/nonexistent",
                "--collateral",
                f("dcap-qvl/tdx_quote_v4_collateral.json"))
            .exit());
    assertEquals(
        2,
        run(
                "verify",
                "quote",
                "--quote",
                f("dcap-qvl/tdx_quote_v4.bin"),
                "--collateral",
                "/nonexistent")
            .exit());
    assertEquals(2, run("collateral").exit());
  }

  @Test
  void collateralFetchWritesADirectoryThatVerifies(@TempDir Path dir) throws Exception {
    var c =
        DcapQvlCollateralFile.load(Fixtures.path("dcap-qvl/tdx_quote_v4_collateral.json"))
            .collateral();
    try (FakePcsServer pcs = new FakePcsServer(c, "tdx", "B0C06F000000")) {
      Path out = dir.resolve("collateral");
      Run fetch =
          run(
              "collateral",
              "fetch",
              "--quote",
              f("dcap-qvl/tdx_quote_v4.bin"),
              "--pccs",
              pcs.baseUrl(),
              "--out",
              out.toString());
      assertEquals(0, fetch.exit(), fetch.out() + fetch.err());
      assertEquals("b0c06f000000", fetch.json().get("fmspc").asText());
      assertEquals("platform", fetch.json().get("pckCa").asText());
      Run verify =
          run(
              "verify",
              "quote",
              "--quote",
              f("dcap-qvl/tdx_quote_v4.bin"),
              "--collateral",
              out.toString(),
              "--at",
              "2025-07-19T10:00:34Z");
      assertEquals(0, verify.exit(), verify.out());
      assertEquals(
          c.digests().get("tcbInfo"),
          verify.json().get("collateralSha256").get("tcbInfo").asText());

      Run viaPccs =
          run(
              "verify",
              "quote",
              "--quote",
              f("dcap-qvl/tdx_quote_v4.bin"),
              "--pccs",
              pcs.baseUrl(),
              "--at",
              "2025-07-19T10:00:34Z");
      assertEquals(0, viaPccs.exit(), viaPccs.out());

      Run unreachable =
          run(
              "collateral",
              "fetch",
              "--quote",
              f("dcap-qvl/tdx_quote_v4.bin"),
              "--pccs",
              "http://127.0.0.1:1",
              "--out",
              dir.resolve("x").toString());
      assertEquals(1, unreachable.exit());
      assertFalse(unreachable.json().get("ok").asBoolean());
    }
  }
}
