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
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code teekms verify response} with an explicit expected identity, on an exchange signed and
 * attested exactly as the guest agent's proxy does it ({@link SignedExchange}); the on-chain
 * identity is in {@link VerifyResponseOnChainTest}.
 */
class VerifyResponseCommandTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HexFormat HEX = HexFormat.of();
  static final List<String> ROWS =
      List.of(
          "signature",
          "signing address",
          "quote REPORTDATA",
          "TCB status",
          "OS image measurements",
          "compose hash",
          "GPUs");
  @TempDir Path dir;
  SignedExchange x;
  List<String> explicit;

  record Run(int exit, JsonNode json, String err) {
    String failure() {
      return json.path("failure").asText(null);
    }

    String failedCheck() {
      return json.path("failedCheck").asText(null);
    }
  }

  static Run run(List<String> args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cmd = TeeKmsCli.newCommandLine();
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    int exit = cmd.execute(args.toArray(new String[0]));
    return new Run(exit, exit == 2 ? null : JSON.readTree(out.toString()), err.toString());
  }

  @BeforeEach
  void exchange() throws Exception {
    x =
        SignedExchange.create(
            dir, HEX.parseHex("42".repeat(20)), SignedExchange.COMPOSE, SignedExchange.OS_IMAGE);
    explicit =
        List.of(
            "--compose-hash",
            HEX.formatHex(x.composeHash()),
            "--os-image",
            HEX.formatHex(SignedExchange.OS_IMAGE),
            "--mr-system",
            HEX.formatHex(x.mrSystem()),
            "--require-gpu");
  }

  List<String> with(String... more) {
    List<String> a = new ArrayList<>(x.args());
    a.addAll(explicit);
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void acceptsTheSignedExchangeAndNamesEveryCheckInOrder() throws Exception {
    Run r = run(with("--nonce", HEX.formatHex(x.nonce())));
    assertEquals(0, r.exit(), r.err() + r.json());
    assertTrue(r.json().get("valid").asBoolean());
    List<String> names = new ArrayList<>();
    for (JsonNode row : r.json().get("checks")) {
      names.add(row.get("name").asText());
      assertEquals("PASS", row.get("status").asText(), row.toString());
      assertFalse(row.get("detail").asText().isEmpty());
    }
    assertEquals(ROWS, names);
    assertTrue(r.json().at("/checks/6/detail").asText().contains("measurements match the RIMs"));
  }

  /**
   * Without an expected identity a valid signature proves only that some TDX VM running some code
   * signed it.
   */
  @Test
  void withoutAnExpectedIdentityItIsAUsageError() throws Exception {
    Run none = run(x.args());
    assertEquals(2, none.exit());
    assertTrue(none.err().contains("no expected identity"), none.err());
    assertEquals(
        1, none.err().strip().lines().filter(l -> l.contains("no expected identity")).count());
    List<String> composeOnly = new ArrayList<>(x.args());
    composeOnly.addAll(List.of("--compose-hash", HEX.formatHex(x.composeHash())));
    Run half = run(composeOnly);
    assertEquals(2, half.exit());
    assertTrue(
        half.err().contains("needs both --compose-hash (or --compose) and --os-image"), half.err());
    List<String> chainHalf = new ArrayList<>(x.args());
    chainHalf.addAll(List.of("--rpc-url", "http://127.0.0.1:1"));
    assertEquals(2, run(chainHalf).exit());
  }

  @Test
  void rejectsAnotherComposeHashOsImageOrOsMeasurement() throws Exception {
    List<String> other = with();
    other.set(other.indexOf(HEX.formatHex(x.composeHash())), "00".repeat(32));
    Run c = run(other);
    assertEquals(1, c.exit());
    assertEquals("COMPOSE_HASH_NOT_ALLOWED", c.failure());
    assertEquals("compose hash", c.failedCheck());
    List<String> image = with();
    image.set(image.indexOf(HEX.formatHex(SignedExchange.OS_IMAGE)), "11".repeat(32));
    Run i = run(image);
    assertEquals("OS_IMAGE_NOT_ALLOWED", i.failure());
    assertEquals("OS image measurements", i.failedCheck());
    List<String> golden = with();
    golden.set(golden.indexOf(HEX.formatHex(x.mrSystem())), "ab".repeat(32));
    Run g = run(golden);
    assertEquals("OS_IMAGE_MEASUREMENT_MISMATCH", g.failure());
    Run app = run(with("--app", "0x" + "43".repeat(20)));
    assertEquals("APP_ID_MISMATCH", app.failure());
    assertEquals(0, run(with("--app", "0x" + "42".repeat(20))).exit());
  }

  @Test
  void rejectsACvmLaunchedForAnotherComposeAtTheComposeRowButAcceptsOneLaunchedWithoutMrConfigId()
      throws Exception {
    byte[] otherCompose =
        org.teekms.attest.eventlog.MrConfigId.v1(
            org.teekms.crypto.Digests.sha256(
                "{\"name\":\"other\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    SignedExchange lying =
        SignedExchange.create(
            dir.resolve("lying"),
            HEX.parseHex("42".repeat(20)),
            SignedExchange.COMPOSE,
            SignedExchange.OS_IMAGE,
            otherCompose);
    List<String> args = new ArrayList<>(lying.args());
    args.addAll(explicit);
    Run r = run(args);
    assertEquals(1, r.exit(), r.err() + r.json());
    assertEquals("MR_CONFIG_ID_MISMATCH", r.failure());
    assertEquals("compose hash", r.failedCheck());
    assertTrue(
        r.json().get("error").asText().contains(HEX.formatHex(x.composeHash())),
        r.json().toString());
    SignedExchange unset =
        SignedExchange.create(
            dir.resolve("unset"),
            HEX.parseHex("42".repeat(20)),
            SignedExchange.COMPOSE,
            SignedExchange.OS_IMAGE,
            new byte[48]);
    List<String> unsetArgs = new ArrayList<>(unset.args());
    unsetArgs.addAll(explicit);
    Run ok = run(unsetArgs);
    assertEquals(0, ok.exit(), ok.err() + ok.json());
  }

  @Test
  void rejectsAnyEditedByteOfTheExchangeAtTheSignatureRow() throws Exception {
    for (Path file : List.of(x.request(), x.response())) {
      byte[] original = Files.readAllBytes(file);
      for (int i = 0; i < original.length; i += 7) {
        byte[] edited = original.clone();
        edited[i] ^= 0x01;
        Files.write(file, edited);
        Run r = run(with());
        assertEquals(1, r.exit(), file + " byte " + i);
        assertEquals("TEXT_MISMATCH", r.failure());
        assertEquals("signature", r.failedCheck());
        assertEquals("FAIL", r.json().at("/checks/0/status").asText());
        assertEquals(
            "PASS", r.json().at("/checks/2/status").asText(), "the quote itself is still fine");
      }
      Files.write(file, original);
    }
    assertEquals(0, run(with()).exit());
  }

  @Test
  void rejectsATamperedSignatureOrSigner() throws Exception {
    ObjectNode s = (ObjectNode) JSON.readTree(Files.readAllBytes(x.signature()));
    String good = s.get("signature").asText();
    char last = good.charAt(good.length() - 3);
    s.put(
        "signature",
        good.substring(0, good.length() - 3)
            + (last == '0' ? '1' : '0')
            + good.substring(good.length() - 2));
    Files.write(x.signature(), JSON.writeValueAsBytes(s));
    assertEquals("SIGNATURE_INVALID", run(with()).failure());
    s.put("signature", good);
    s.put("signing_address", "0x" + "12".repeat(20));
    Files.write(x.signature(), JSON.writeValueAsBytes(s));
    assertEquals("SIGNATURE_INVALID", run(with()).failure());
    Files.writeString(x.report(), "{not json");
    Run m = run(with());
    assertEquals("MALFORMED_INPUT", m.json().at("/checks/1/code").asText());
  }

  @Test
  void rejectsATamperedQuoteAtTheReportDataRow() throws Exception {
    ObjectNode r = (ObjectNode) JSON.readTree(Files.readAllBytes(x.report()));
    byte[] quote = HEX.parseHex(r.get("intel_quote").asText());
    quote[48 + 520] ^=
        0x01; // a REPORTDATA byte of the TD report body: the quote signature no longer verifies
    r.put("intel_quote", HEX.formatHex(quote));
    Files.write(x.report(), JSON.writeValueAsBytes(r));
    Run t = run(with());
    assertEquals(1, t.exit());
    assertEquals("QUOTE_INVALID", t.failure());
    assertEquals("quote REPORTDATA", t.failedCheck());
    assertEquals("SKIP", t.json().at("/checks/3/status").asText());
  }

  /**
   * GPU evidence made for another nonce (a replay) fails the GPU row, whether or not its label was
   * edited.
   */
  @Test
  void rejectsGpuEvidenceFromAnotherNonce() throws Exception {
    byte[] other = new byte[32];
    other[0] = 7;
    x.replaceGpuEvidence(other, other);
    Run relabelled = run(with());
    assertEquals("GPU_NONCE_MISMATCH", relabelled.failure());
    assertEquals("GPUs", relabelled.failedCheck());
    x.replaceGpuEvidence(x.nonce(), other);
    Run replayed = run(with());
    assertEquals("GPU_NONCE_MISMATCH", replayed.failure());
    assertTrue(
        replayed.json().get("error").asText().startsWith("GPU 0: "), replayed.json().toString());
  }

  @Test
  void requiredGpusNeedRimsAndEvidence() throws Exception {
    List<String> noRims = with();
    int i = noRims.indexOf("--rims");
    noRims.subList(i, i + 4).clear();
    assertEquals("GPU_RIMS_NOT_CHECKED", run(noRims).failure());
    ObjectNode r = (ObjectNode) JSON.readTree(Files.readAllBytes(x.report()));
    r.remove("nvidia_payload");
    Files.write(x.report(), JSON.writeValueAsBytes(r));
    assertEquals("GPU_EVIDENCE_MISSING", run(with()).failure());
    List<String> optional = new ArrayList<>(with());
    optional.remove("--require-gpu");
    assertEquals(0, run(optional).exit(), "no GPU evidence, none required");
  }

  /**
   * The signature was made for POST /v1/chat/completions: presented as another endpoint's answer,
   * it is refused.
   */
  @Test
  void rejectsASignatureReplayedOnAnotherEndpoint() throws Exception {
    Run r = run(with("--method", "POST", "--path", "/v1/completions"));
    assertEquals(1, r.exit());
    assertEquals("ENDPOINT_MISMATCH", r.failure());
    assertEquals(
        "the response was signed for POST /v1/chat/completions, presented for POST /v1/completions",
        r.json().get("error").asText());
    Run bad = run(with("--path", "no-slash"));
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("--method/--path: request-target must be"), bad.err());
  }

  @Test
  void rejectsAnotherNonceAndReportsUsageErrors() throws Exception {
    assertEquals("NONCE_MISMATCH", run(with("--nonce", "11".repeat(32))).failure());
    assertEquals(2, run(with("--nonce", "zz")).exit());
    assertEquals(2, run(with("--os-image", "12")).exit());
    assertEquals(2, run(with("--app", "nothex")).exit());
    assertEquals(2, run(List.of("verify", "response", "--report", x.report().toString())).exit());
  }
}
