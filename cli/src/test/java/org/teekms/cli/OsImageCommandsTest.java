package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.Fixtures;
import picocli.CommandLine;

/**
 * {@code teekms measure}, {@code verify os-image} and the {@code osImage} object of {@code verify
 * quote --dstack}.
 */
class OsImageCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String LITE = "dstack/tdx-lite-getquote.json";
  private static final String LITE_HASH =
      "e6f5cfec20c02e7b97baa213d0f718020b55e040172d90ccbcb946d56c8b09db";

  @TempDir Path dir;

  private record Run(int exit, String out, String err) {
    JsonNode json() throws Exception {
      return JSON.readTree(out);
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

  private static JsonNode capture() throws Exception {
    return JSON.readTree(Fixtures.bytes(LITE));
  }

  /** The quote's registers, read independently of the code under test (TD 1.0 body offsets). */
  private static String quoteRegister(JsonNode capture, int offset) {
    String q = capture.get("quote").asText();
    return q.substring(2 * (48 + offset), 2 * (48 + offset + 48));
  }

  @Test
  void verifyOsImageProvesTheRealLiteCapture() throws Exception {
    Run r = run("verify", "os-image", "--dstack", Fixtures.path(LITE).toString());
    assertEquals(0, r.exit(), r.err() + r.out());
    JsonNode j = r.json();
    assertTrue(j.get("verified").asBoolean());
    assertEquals(LITE_HASH, j.get("osImageHash").asText());
    assertEquals(j.get("actual"), j.get("expected"));
    JsonNode c = capture();
    assertEquals(quoteRegister(c, 136), j.get("actual").get("mrtd").asText());
    assertEquals(quoteRegister(c, 328), j.get("actual").get("rtmr0").asText());
    assertEquals(quoteRegister(c, 424), j.get("actual").get("rtmr2").asText());
    assertEquals(0, j.get("mismatches").size());
    assertTrue(j.get("error").isNull());
  }

  @Test
  void verifyOsImageNamesTheRegisterAnEditedVmConfigBreaks() throws Exception {
    ObjectNode c = (ObjectNode) capture();
    ObjectNode vm = (ObjectNode) JSON.readTree(c.get("vm_config").asText());
    vm.put("memory_size", 8L << 30);
    c.put("vm_config", JSON.writeValueAsString(vm));
    Path f = Files.writeString(dir.resolve("edited.json"), JSON.writeValueAsString(c));
    Run r = run("verify", "os-image", "--dstack", f.toString());
    assertEquals(1, r.exit(), r.err());
    JsonNode j = r.json();
    assertFalse(j.get("verified").asBoolean());
    assertEquals("OS_IMAGE_MEASUREMENT_MISMATCH", j.get("failure").asText());
    assertEquals("[\"RTMR0\"]", j.get("mismatches").toString());
    assertTrue(j.get("error").asText().contains("RTMR0 differs"), j.get("error").asText());
    assertFalse(
        j.get("expected").get("rtmr0").asText().equals(j.get("actual").get("rtmr0").asText()));
  }

  @Test
  void verifyOsImageOnTheLegacyCaptureSaysTheDocumentIsMissing() throws Exception {
    Run r =
        run("verify", "os-image", "--dstack", Fixtures.path("dstack/quote-report.json").toString());
    assertEquals(1, r.exit(), r.err());
    JsonNode j = r.json();
    assertEquals("MEASUREMENT_DOCUMENT_MISSING", j.get("failure").asText());
    assertTrue(j.get("expected").isNull());
    assertEquals(96, j.get("actual").get("rtmr1").asText().length());
  }

  @Test
  void verifyOsImageBadInputIsAOneLineUsageErrorOrAVerdict() throws Exception {
    Path notJson = Files.writeString(dir.resolve("x.json"), "{not json");
    Run r = run("verify", "os-image", "--dstack", notJson.toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains(": --dstack " + notJson + " cannot be read"), r.err());
    assertFalse(r.err().contains("Exception"), r.err());

    ObjectNode c = (ObjectNode) capture();
    c.remove("vm_config");
    Path noVm = Files.writeString(dir.resolve("novm.json"), JSON.writeValueAsString(c));
    r = run("verify", "os-image", "--dstack", noVm.toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains(": --dstack " + noVm + " has no vm_config"), r.err());

    c = (ObjectNode) capture();
    c.put("quote", "00112233");
    Path badQuote = Files.writeString(dir.resolve("badquote.json"), JSON.writeValueAsString(c));
    r = run("verify", "os-image", "--dstack", badQuote.toString());
    assertEquals(1, r.exit(), r.err());
    assertEquals("MALFORMED_QUOTE", r.json().get("failure").asText());

    c = (ObjectNode) capture();
    c.put("event_log", "[{\"imr\":9}]");
    Path badLog = Files.writeString(dir.resolve("badlog.json"), JSON.writeValueAsString(c));
    r = run("verify", "os-image", "--dstack", badLog.toString());
    assertEquals(1, r.exit(), r.err());
    assertEquals("EVENT_LOG_INVALID", r.json().get("failure").asText());

    assertEquals(2, run("verify", "os-image").exit());
    assertEquals(
        2, run("verify", "os-image", "--dstack", dir.resolve("absent.json").toString()).exit());
  }

  @Test
  void measurePrintsTheExpectedRegistersAndSaysWhenRtmr0CannotBeComputed() throws Exception {
    JsonNode c = capture();
    Path vm = Files.writeString(dir.resolve("vm.json"), c.get("vm_config").asText());
    Path log = Files.writeString(dir.resolve("log.json"), c.get("event_log").asText());

    Run full = run("measure", "--vm-config", vm.toString(), "--event-log", log.toString());
    assertEquals(0, full.exit(), full.err());
    JsonNode e = full.json().get("expected");
    assertEquals(LITE_HASH, full.json().get("osImageHash").asText());
    assertEquals(quoteRegister(c, 136), e.get("mrtd").asText());
    assertEquals(quoteRegister(c, 328), e.get("rtmr0").asText());
    assertEquals(quoteRegister(c, 376), e.get("rtmr1").asText());
    assertEquals(quoteRegister(c, 424), e.get("rtmr2").asText());
    assertFalse(full.json().has("missing"));

    Run partial = run("measure", "--vm-config", vm.toString());
    assertEquals(0, partial.exit(), partial.err());
    assertTrue(partial.json().get("expected").get("rtmr0").isNull());
    assertEquals(e.get("rtmr1"), partial.json().get("expected").get("rtmr1"));
    assertTrue(partial.json().get("missing").asText().contains("give --event-log"));
  }

  @Test
  void measureBadInput() throws Exception {
    Path legacyVm =
        Files.writeString(
            dir.resolve("legacy.json"),
            JSON.readTree(Fixtures.bytes("dstack/quote-report.json")).get("vm_config").asText());
    Run r = run("measure", "--vm-config", legacyVm.toString());
    assertEquals(1, r.exit(), r.err());
    assertEquals("MEASUREMENT_DOCUMENT_MISSING", r.json().get("failure").asText());
    assertEquals(
        "14ad42d0270b444eaeb53918a5a94d9b17eec7a817cd336173b17c5327541c67",
        r.json().get("osImageHash").asText());

    Path junk = Files.writeString(dir.resolve("junk.json"), "[1,2]");
    r = run("measure", "--vm-config", junk.toString());
    assertEquals(1, r.exit());
    assertEquals(
        "VM_CONFIG_INVALID: vm_config must be a JSON object", r.json().get("error").asText());

    JsonNode c = capture();
    Path vm = Files.writeString(dir.resolve("vm.json"), c.get("vm_config").asText());
    Path noAcpi = Files.writeString(dir.resolve("noacpi.json"), "[]");
    r = run("measure", "--vm-config", vm.toString(), "--event-log", noAcpi.toString());
    assertEquals(1, r.exit());
    assertEquals("ACPI_DIGESTS_MISSING", r.json().get("failure").asText());

    Path badLog = Files.writeString(dir.resolve("bad.json"), "{");
    r = run("measure", "--vm-config", vm.toString(), "--event-log", badLog.toString());
    assertEquals(2, r.exit());
    assertTrue(
        r.err().contains(": --event-log " + badLog + ": event log is not valid JSON"), r.err());
    assertEquals(2, run("measure").exit());
  }

  @Test
  void verifyQuoteWithADstackFileCarriesTheOsImageObject() throws Exception {
    Run r =
        run(
            "verify",
            "quote",
            "--dstack",
            Fixtures.path(LITE).toString(),
            "--collateral",
            Fixtures.path(VerifyRatlsCommandTest.DSTACK_COLLATERAL).toString(),
            "--at",
            VerifyRatlsCommandTest.DSTACK_AT);
    JsonNode os = r.json().get("osImage");
    assertTrue(os.get("verified").asBoolean(), os.toString());
    assertEquals(LITE_HASH, os.get("osImageHash").asText());
    assertTrue(
        r.json().get("eventLog").get("replayed").asBoolean(), r.json().get("eventLog").toString());

    Run legacy =
        run(
            "verify",
            "quote",
            "--dstack",
            Fixtures.path("dstack/quote-report.json").toString(),
            "--collateral",
            Fixtures.path(VerifyRatlsCommandTest.DSTACK_COLLATERAL).toString(),
            "--at",
            VerifyRatlsCommandTest.DSTACK_AT);
    assertEquals(0, legacy.exit(), legacy.err());
    assertEquals(
        "MEASUREMENT_DOCUMENT_MISSING", legacy.json().get("osImage").get("failure").asText());
  }
}
