package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.cli.demo.DemoExchange;
import org.teekms.cli.demo.DemoExchangeFixture;
import org.teekms.crypto.Bytes;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GpuPolicy;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.verifier.audit.AuditChainHash;
import org.teekms.verifier.audit.AuditRecord;
import org.teekms.verifier.service.HeadlessChromium;
import org.teekms.verifier.service.VerifierService;
import org.web3j.crypto.Credentials;

/**
 * The verifier's web page in a real headless Chromium ({@link HeadlessChromium}: Debian's chromium
 * + chromium-driver over W3C WebDriver), on the demo's own signed exchange ({@link
 * SignedExchange#fromDemo}: the demo's CVM, signing proxy and chat step, which writes {@value
 * DemoExchange#FILE}): the demo's file loaded through the page's file input renders seven passing
 * rows and the app's on-chain policy with its history; each tampering (one byte of the response,
 * the signature, the quote, GPU evidence from another nonce, the compose hash removed on chain)
 * renders its failing row; the auditor tab recomputes the audit chain in the page and names the
 * first edited, deleted or reordered entry. Without chromedriver the test is skipped, unless {@code
 * -Dverifier.require-browser=true} (what .ci/run passes, after installing it) makes that a failure.
 */
@Timeout(300)
class VerifierPageBrowserTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static AnvilNode anvil;
  static ChainClient chain;
  static AppPolicy app;
  static KmsRegistry registry;
  static SignedExchange x;
  static VerifierService service;
  static HeadlessChromium browser;
  @TempDir static Path dir;

  @BeforeAll
  static void start() throws Exception {
    browser = HeadlessChromium.start(dir.resolve("browser"));
    anvil = AnvilNode.start();
    chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    Credentials owner = anvil.fundedAccount();
    registry = KmsRegistry.deploy(chain, owner, owner.getAddress()).registry();
    registry.setTcbPolicy(List.of("UpToDate"), List.of());
    registry.addOsImage(DemoExchangeFixture.OS_IMAGE);
    app = AppPolicy.at(chain, registry.registerApp(owner.getAddress()).appId(), owner);
    app.setGpuRequirements(new GpuPolicy(1, "HOPPER", 0));
    x =
        SignedExchange.fromDemo(
            dir.resolve("demo"),
            app.address(),
            anvil.rpcUrl(),
            AnvilNode.CHAIN_ID,
            registry.address());
    app.addComposeHash(x.composeHash());
    registry.addOsImageMeasurement(DemoExchangeFixture.OS_IMAGE, x.mrSystem());
    service =
        VerifierService.start(
            VerifierServiceTest.config(
                x,
                anvil.rpcUrl(),
                registry.address(),
                VerifierService.Config.DEFAULT_MAX_BODY_BYTES));
  }

  @AfterAll
  static void stop() throws Exception {
    if (browser != null) browser.close();
    if (service != null) service.close();
    if (chain != null) chain.close();
    if (anvil != null) anvil.close();
  }

  static JsonNode script(String js, Object... args) throws Exception {
    return browser.script(js, args);
  }

  static void fill(String id, String value) throws Exception {
    browser.fill(id, value);
  }

  static void click(String css) throws Exception {
    browser.click(css);
  }

  static void openPage() throws Exception {
    browser.open("http://127.0.0.1:" + service.port() + "/");
  }

  /** The rendered rows as "name|STATUS|CODE", once the verdict for {@code request} is shown. */
  static List<String> rowsAfterVerify() throws Exception {
    script(
        "document.getElementById('checks').querySelector('tbody').replaceChildren();"
            + "document.getElementById('verdict').textContent = '';");
    click("#verify");
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode rows =
          script(
              "return Array.from(document.querySelectorAll('#checks tbody tr'))"
                  + ".map(r => r.dataset.check + '|' + r.dataset.status + '|' + r.querySelector('td.code').textContent);");
      if (rows.size() == 7) {
        List<String> out = new ArrayList<>();
        rows.forEach(r -> out.add(r.asText()));
        return out;
      }
      String verdict = script("return document.getElementById('verdict').textContent;").asText();
      if (verdict.startsWith("cannot verify")) fail(verdict);
      Thread.sleep(200);
    }
    throw new AssertionError("no verdict rendered within 60 s");
  }

  static final List<String> ALL_PASS =
      List.of(
          "signature|PASS|",
          "signing address|PASS|",
          "quote REPORTDATA|PASS|",
          "TCB status|PASS|",
          "OS image measurements|PASS|",
          "compose hash (on chain)|PASS|",
          "GPUs|PASS|");

  /**
   * The demo's signed-exchange.json chosen in the page's file input fills the form (bodies,
   * signature, report, nonce, the app to expect) and verifies.
   */
  @Test
  void theDemosSignedExchangeUploadedAsAFileRendersEveryCheckPassingWithTheAppsPolicy()
      throws Exception {
    openPage();
    browser.upload("#exchange-file", x.manifest());
    String loaded =
        browser.waitForText("exchange-status", t -> t.startsWith("loaded"), "the loaded exchange");
    assertTrue(loaded.contains("expected identity: app " + app.address()), loaded);
    assertEquals(app.address(), script("return document.getElementById('app').value;").asText());
    assertEquals(
        Files.readString(x.request()),
        script("return document.getElementById('request').value;").asText(),
        "the exact request body");
    assertEquals(
        HexFormat.of().formatHex(x.nonce()),
        script("return document.getElementById('nonce').value;").asText());
    assertEquals(ALL_PASS, rowsAfterVerify());
    assertEquals(
        "VALID", script("return document.getElementById('verdict').textContent;").asText());
    String policy =
        browser.waitForText(
            "policy-table",
            t -> t.contains(HexFormat.of().formatHex(x.composeHash())),
            "the allowed compose hash");
    assertTrue(policy.contains("REGISTERED"), policy);
    String history =
        browser.waitForText(
            "history-table", t -> t.contains("OsImageMeasurementAdded"), "the policy's history");
    assertTrue(history.contains("ComposeHashAdded") && history.contains("AppRegistered"), history);
  }

  /**
   * One byte of the response changed, uploaded through the response's own file input, fails the
   * signature row; the demo's untouched file loaded again verifies again.
   */
  @Test
  void aResponseFileWithOneByteChangedUploadedInThePageFailsTheSignatureRow() throws Exception {
    openPage();
    browser.upload("#exchange-file", x.manifest());
    browser.waitForText("exchange-status", t -> t.startsWith("loaded"), "the loaded exchange");
    Path tampered =
        Files.writeString(
            Files.createTempDirectory(dir, "upload").resolve("response.json"),
            x.responseWithOneByteChanged());
    browser.upload("input[type=file][data-target=response]", tampered);
    long deadline = System.nanoTime() + HeadlessChromium.WAIT.toNanos();
    while (!script("return document.getElementById('response').value;")
        .asText()
        .equals(Files.readString(tampered))) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the uploaded response never reached the form");
      }
      Thread.sleep(100);
    }
    List<String> rows = rowsAfterVerify();
    assertEquals("signature|FAIL|TEXT_MISMATCH", rows.get(0));
    assertEquals("quote REPORTDATA|PASS|", rows.get(2), "the rest of the evidence still holds");
    assertTrue(
        script("return document.getElementById('verdict').textContent;")
            .asText()
            .startsWith("NOT VALID: TEXT_MISMATCH at signature"));

    Path notAnExchange =
        Files.writeString(
            Files.createTempDirectory(dir, "upload").resolve("other.json"), "{\"format\":\"x\"}");
    browser.upload("#exchange-file", notAnExchange);
    assertEquals(
        "cannot load other.json: its format is not tee-kms/signed-exchange/v1",
        browser.waitForText(
            "exchange-status", t -> t.startsWith("cannot load"), "the refusal of another file"));
  }

  /**
   * The rows once verified: the first failing row is {@code check} with {@code code}, and the
   * verdict names both.
   */
  static void failsAt(String check, String code) throws Exception {
    List<String> rows = rowsAfterVerify();
    String failing = rows.stream().filter(r -> r.contains("|FAIL|")).findFirst().orElse("none");
    assertEquals(check + "|FAIL|" + code, failing, rows.toString());
    String verdict = script("return document.getElementById('verdict').textContent;").asText();
    assertTrue(verdict.startsWith("NOT VALID: " + code + " at " + check), verdict);
  }

  /**
   * The text of element {@code id} once it contains {@code expected} (the policy panel renders
   * asynchronously).
   */
  static String waitForText(String id, String expected) throws Exception {
    return browser.waitForText(id, t -> t.contains(expected), expected);
  }

  void pasteTheExchange() throws Exception {
    openPage();
    fill("app", app.address());
    fill("request", Files.readString(x.request()));
    fill("response", Files.readString(x.response()));
    fill("signature", Files.readString(x.signature()));
    fill("report", Files.readString(x.report()));
  }

  @Test
  void aTamperedSignatureQuoteOrGpuEvidenceShowsItsFailingRow() throws Exception {
    pasteTheExchange();
    fill("signature", x.signatureWithOneDigitChanged());
    failsAt("signature", "SIGNATURE_INVALID");
    fill("signature", Files.readString(x.signature()));
    fill("report", x.reportWithTamperedQuote());
    failsAt("quote REPORTDATA", "QUOTE_INVALID");
    byte[] other = new byte[32];
    other[0] = 9;
    fill("report", x.reportWithGpuEvidenceFor(other));
    failsAt("GPUs", "GPU_NONCE_MISMATCH");
  }

  /**
   * An audit log as {@code teekms audit events} prints it: entries 1 and 2 are docs/audit-log.md's
   * vectors (computed by an independent implementation), 3 to 5 chained by the verifier module's
   * {@link AuditChainHash}; apps 0x…aa and 0x…bb alternate.
   */
  static ArrayNode auditLog() {
    ArrayNode events = JSON.createArrayNode();
    events
        .addObject()
        .put("seq", 1)
        .put("eventId", "00000000-0000-4000-8000-000000000001")
        .put("time", java.time.Instant.ofEpochMilli(1767225600000L).toString())
        .put("kind", "GRANT_APP_KEYS")
        .put("appId", "0x" + "00".repeat(19) + "aa")
        .put("outcome", "ALLOWED")
        .put("reason", "")
        .put("detail", "{\"instanceId\":\"0102\",\"keyVersions\":[1],\"policyBlock\":42}")
        .put("entryHash", "757f1eda0c77b83c321c5e102e7ba03a50e77b4b71fce22817ddf9d0d157b868");
    events
        .addObject()
        .put("seq", 2)
        .put("eventId", "00000000-0000-4000-8000-000000000002")
        .put("time", java.time.Instant.ofEpochMilli(1767225601000L).toString())
        .put("kind", "DENY_APP_KEYS")
        .put("appId", "0x" + "00".repeat(19) + "aa")
        .put("outcome", "DENIED")
        .put("reason", "COMPOSE_HASH_NOT_ALLOWED")
        .put("detail", "{\"composeHash\":\"ff\"}")
        .put("entryHash", "bb721dafca01015ce73e63bc417e6e72da26216bb4e682cc123eca8232284778");
    Bytes prev = Bytes.fromHex("bb721dafca01015ce73e63bc417e6e72da26216bb4e682cc123eca8232284778");
    for (int seq = 3; seq <= 5; seq++) {
      String app = seq % 2 == 0 ? "00".repeat(19) + "aa" : "00".repeat(19) + "bb";
      AuditRecord r =
          new AuditRecord(
              seq,
              java.util.UUID.fromString("00000000-0000-4000-8000-00000000000" + seq),
              1767225600000L + seq * 1001L,
              "GRANT_APP_KEYS",
              Bytes.fromHex(app),
              "ALLOWED",
              "",
              "{\"keyVersions\":[" + seq + "],\"note\":\"é\"}",
              prev,
              AuditChainHash.GENESIS);
      prev = AuditChainHash.of(r);
      events
          .addObject()
          .put("seq", seq)
          .put("eventId", r.eventId().toString())
          .put("time", java.time.Instant.ofEpochMilli(r.eventTimeMillis()).toString())
          .put("kind", r.kind())
          .put("appId", "0x" + app)
          .put("outcome", r.outcome())
          .put("reason", r.reason())
          .put("detail", r.detailJson())
          .put("entryHash", prev.hex());
    }
    return events;
  }

  /**
   * Pastes {@code events} into the auditor tab, recomputes, and returns the verdict and the rows'
   * seq|status.
   */
  static List<String> recompute(ArrayNode events, String app, String head) throws Exception {
    fill("audit-entries", JSON.createObjectNode().set("events", events).toString());
    fill("audit-app", app);
    fill("audit-head", head);
    script("document.getElementById('audit-verdict').textContent = '';");
    click("#audit-verify");
    long deadline = System.nanoTime() + HeadlessChromium.WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      String verdict =
          script("return document.getElementById('audit-verdict').textContent;").asText();
      if (verdict.startsWith("chain") || verdict.startsWith("cannot")) {
        List<String> out = new ArrayList<>(List.of(verdict));
        script(
                "return Array.from(document.querySelectorAll('#audit-table tbody tr'))"
                    + ".map(r => r.dataset.seq + '|' + r.dataset.status);")
            .forEach(r -> out.add(r.asText()));
        return out;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no audit verdict rendered within 30 s");
  }

  @Test
  void theAuditorTabRecomputesTheChainInThePageAndCatchesAnEditedDeletedOrReorderedEntry()
      throws Exception {
    openPage();
    click("#tab-auditor");
    ArrayNode log = auditLog();
    String head = log.get(4).get("entryHash").asText();
    String appA = "0x" + "00".repeat(19) + "aa";
    assertEquals(
        List.of(
            "chain verifies: 5 entries recomputed in this page, head " + head,
            "1|PASS",
            "2|PASS",
            "4|PASS"),
        recompute(log, appA, ""));
    String second = log.get(1).get("entryHash").asText();
    assertEquals(
        "chain verifies: 5 entries recomputed in this page, head " + head,
        recompute(log, "", second).get(0),
        "a head saved after entry 2 lies on today's chain");

    ArrayNode edited = log.deepCopy();
    ((ObjectNode) edited.get(2))
        .put("detail", log.get(2).get("detail").asText().replace("[3]", "[4]"));
    List<String> e = recompute(edited, appA, "");
    assertEquals(
        "chain broken at seq 3: the recomputed entry hash differs from the stored one (entry edited?)",
        e.get(0));
    assertEquals(
        List.of("1|PASS", "2|PASS", "3|FAIL"), e.subList(1, e.size()), "the broken entry is shown");

    ArrayNode deleted = log.deepCopy();
    deleted.remove(1);
    assertEquals(
        "chain broken at seq 2: sequence gap: expected seq 2, found 3 (entry deleted or moved?)",
        recompute(deleted, "", "").get(0));

    ArrayNode reordered = log.deepCopy();
    ObjectNode third = (ObjectNode) reordered.remove(2);
    reordered.insert(3, third);
    ((ObjectNode) reordered.get(2)).put("seq", 3);
    ((ObjectNode) reordered.get(3)).put("seq", 4);
    assertEquals(
        "chain broken at seq 3: the recomputed entry hash differs from the stored one (entry edited?)",
        recompute(reordered, "", "").get(0));

    ArrayNode cut = log.deepCopy();
    cut.remove(4);
    assertEquals(
        "chain broken: the saved head "
            + head
            + " is not on this chain (history rewritten, or cut before "
            + "it)",
        recompute(cut, "", head).get(0));
    assertTrue(
        recompute(log, "", "nothex").get(0).startsWith("cannot recompute: the saved head must be"));
    click("#tab-response");
  }

  /**
   * The head the KMS anchored on chain, read by the service at a pinned block; the page checks its
   * entry count.
   */
  @Test
  void theAuditorTabChecksTheHeadAnchoredOnChainIncludingItsEntryCount() throws Exception {
    openPage();
    click("#tab-auditor");
    ArrayNode log = auditLog();
    String fourth = log.get(3).get("entryHash").asText();
    registry.anchorAuditHead(HexFormat.of().parseHex(fourth), 4);
    script("document.getElementById('audit-head').value = '';");
    click("#audit-anchor");
    long until = System.nanoTime() + HeadlessChromium.WAIT.toNanos();
    String head = "";
    while (System.nanoTime() < until && head.isEmpty()) {
      head = script("return document.getElementById('audit-head').value;").asText();
      Thread.sleep(100);
    }
    assertEquals(fourth + "@4", head);
    assertTrue(
        recompute(log, "", head).get(0).startsWith("chain verifies: 5 entries"),
        "the log extends the anchor");
    ArrayNode cut = log.deepCopy();
    cut.remove(4);
    cut.remove(3);
    assertEquals(
        "chain broken: the anchored head records 4 entries, the log has 3 (tail deleted, or not all entries "
            + "pasted)",
        recompute(cut, "", head).get(0));
    String third = log.get(2).get("entryHash").asText();
    List<String> rewritten = recompute(log, "", third + "@4");
    assertEquals(
        "chain broken at seq 4: entry 4's hash is not the anchored head "
            + third
            + " (history rewritten)",
        rewritten.get(0));
    assertEquals(
        List.of("1|PASS", "2|PASS", "3|PASS", "4|FAIL", "5|PASS"),
        rewritten.subList(1, rewritten.size()),
        "the entry the anchor names is the failing row");
    click("#tab-response");
  }

  @Test
  void aComposeHashRemovedOnChainShowsTheComposeRowFailingAndTheRemovalInTheHistory()
      throws Exception {
    pasteTheExchange();
    app.removeComposeHash(x.composeHash());
    try {
      failsAt("compose hash (on chain)", "COMPOSE_HASH_NOT_ALLOWED");
      waitForText("history-table", "ComposeHashRemoved");
    } finally {
      app.addComposeHash(x.composeHash());
    }
  }
}
