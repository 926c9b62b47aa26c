package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.verifier.SignedText;

/**
 * {@code teekms verify response} on the NEAR AI / vLLM-proxy layout the proxy serves
 * (docs/verifiable-inference.md §3): the model-committing text {@code
 * model:sha256(request):sha256(response)}, {@code signature_kind}, and a report carrying {@code
 * all_attestations}/{@code model_attestations}. Everything checked for the v2 exchange is still
 * checked; the model id is checked on top.
 */
class VerifyResponseDropInTest {
  static final HexFormat HEX = HexFormat.of();
  @TempDir Path dir;
  SignedExchange x;
  List<String> explicit;

  @BeforeEach
  void exchange() throws Exception {
    x =
        SignedExchange.create(
            dir,
            HEX.parseHex("42".repeat(20)),
            SignedExchange.COMPOSE,
            SignedExchange.OS_IMAGE,
            SignedText.Format.NEAR_MODEL,
            true);
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
  void theModelCommittingTextVerifiesWhenNearTextsAreAcceptedAndEveryCheckStillRuns()
      throws Exception {
    assertTrue(
        SignedExchange.JSON
            .readTree(Files.readAllBytes(x.signature()))
            .get("text")
            .asText()
            .startsWith("demo:"));
    VerifyResponseCommandTest.Run ok =
        VerifyResponseCommandTest.run(
            with("--accept-near-text", "--nonce", HEX.formatHex(x.nonce())));
    assertEquals(0, ok.exit(), ok.err() + ok.json());
    assertEquals("near-model", ok.json().at("/facts/signature/format").asText());
    assertEquals("demo", ok.json().at("/facts/signature/signedModel").asText());
    assertEquals(VerifyResponseCommandTest.ROWS.size(), ok.json().get("checks").size());
    ok.json()
        .get("checks")
        .forEach(c -> assertEquals("PASS", c.get("status").asText(), c.toString()));
    VerifyResponseCommandTest.Run strict = VerifyResponseCommandTest.run(with());
    assertEquals(1, strict.exit());
    assertEquals(
        "TEXT_FORMAT_NOT_ACCEPTED",
        strict.failure(),
        "it binds no endpoint: opt-in, like NEAR's text");
  }

  @Test
  void aTamperedModelIdIsRefused() throws Exception {
    ObjectNode s = (ObjectNode) SignedExchange.JSON.readTree(Files.readAllBytes(x.signature()));
    s.put("text", "gpt-5:" + s.get("text").asText().substring("demo:".length()));
    Files.write(x.signature(), SignedExchange.JSON.writeValueAsBytes(s));
    VerifyResponseCommandTest.Run r = VerifyResponseCommandTest.run(with("--accept-near-text"));
    assertEquals(1, r.exit());
    assertEquals("MODEL_MISMATCH", r.failure(), r.json().toString());
    assertTrue(r.json().path("error").asText().contains("gpt-5"), r.json().toString());
    // The request asking for another model than the one signed: its hash changes too, so the text
    // no longer matches.
    Files.writeString(x.request(), Files.readString(x.request()).replace("\"demo\"", "\"gpt-5\""));
    s.put("text", "gpt-5:" + s.get("text").asText().substring("gpt-5:".length()));
    Files.write(x.signature(), SignedExchange.JSON.writeValueAsBytes(s));
    assertEquals(
        "TEXT_MISMATCH", VerifyResponseCommandTest.run(with("--accept-near-text")).failure());
  }

  @Test
  void anotherSignatureKindOrAnInconsistentAttestationEntryIsRefused() throws Exception {
    ObjectNode s = (ObjectNode) SignedExchange.JSON.readTree(Files.readAllBytes(x.signature()));
    s.put("signature_kind", "gateway_tee");
    Files.write(x.signature(), SignedExchange.JSON.writeValueAsBytes(s));
    assertEquals(
        "SIGNATURE_KIND_UNSUPPORTED",
        VerifyResponseCommandTest.run(with("--accept-near-text")).failure());
    s.put("signature_kind", SignedText.SIGNATURE_KIND);
    Files.write(x.signature(), SignedExchange.JSON.writeValueAsBytes(s));

    // A model_attestations entry naming our signer with other evidence than the report: NEAR's
    // verifier would read
    // the entry, we the report; refused rather than judged twice.
    ObjectNode r = (ObjectNode) SignedExchange.JSON.readTree(Files.readAllBytes(x.report()));
    ObjectNode entry = (ObjectNode) r.get("model_attestations").get(0);
    entry.put("request_nonce", "00".repeat(32));
    Files.write(x.report(), SignedExchange.JSON.writeValueAsBytes(r));
    VerifyResponseCommandTest.Run bad = VerifyResponseCommandTest.run(with("--accept-near-text"));
    assertEquals("MALFORMED_REPORT", bad.failure(), bad.json().toString());
    assertEquals("signing address", bad.json().path("failedCheck").asText());

    // A load balancer's report: the top level is another server's, our signer's attestation is an
    // entry. That entry
    // is checked in full.
    ObjectNode lb = (ObjectNode) SignedExchange.JSON.readTree(Files.readAllBytes(x.report()));
    ObjectNode ours = (ObjectNode) lb.get("all_attestations").get(0).deepCopy();
    lb.put("signing_address", "0x" + "12".repeat(20));
    lb.remove("all_attestations");
    ArrayNode models = lb.putArray("model_attestations");
    models.addObject().put("signing_address", "0x" + "12".repeat(20)).put("signing_algo", "ecdsa");
    models.add(ours);
    Files.write(x.report(), SignedExchange.JSON.writeValueAsBytes(lb));
    VerifyResponseCommandTest.Run viaEntry =
        VerifyResponseCommandTest.run(with("--accept-near-text"));
    assertEquals(0, viaEntry.exit(), viaEntry.json().toString());
    assertTrue(viaEntry.json().at("/checks/1/detail").asText().contains("model_attestations"));
    ours.put(
        "intel_quote",
        ours.get("intel_quote")
            .asText()
            .replaceFirst(
                "^(.{1200}).",
                "$1" + (ours.get("intel_quote").asText().charAt(1200) == '0' ? "1" : "0")));
    models.set(1, ours);
    Files.write(x.report(), SignedExchange.JSON.writeValueAsBytes(lb));
    VerifyResponseCommandTest.Run tampered =
        VerifyResponseCommandTest.run(with("--accept-near-text"));
    assertEquals(1, tampered.exit());
    assertEquals(
        "quote REPORTDATA",
        tampered.json().path("failedCheck").asText(),
        tampered.json().toString());
  }
}
