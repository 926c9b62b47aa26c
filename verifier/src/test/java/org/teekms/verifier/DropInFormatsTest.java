package org.teekms.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;
import org.teekms.keys.VersionRef;

/**
 * The NEAR AI / vLLM-proxy formats our verifiers read (docs/verifiable-inference.md §2-3): the
 * model-committing text, Ed25519 signers, and the choice of attestation in a report with
 * all_attestations/model_attestations.
 */
class DropInFormatsTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String H1 = "0a5707e7776f001f2d4cf087bae56150e0649e5cfc6b0054a356fb66699da626";
  static final String H2 = "33cb38a3f362a63482cd7b52f8778bdcc117891889becd17fcdd57e72f6c404b";

  static AppKeyDeriver deriver() {
    byte[] root = new byte[32];
    java.util.Arrays.fill(root, (byte) 0x01);
    KmsKeyDeriver kms =
        new KmsKeyDeriver(new RootKeyring(1, SecretBytes.copyOf(root, InsecureSecretAccess.get())));
    return new AppKeyDeriver(
        kms.appRootSecret(
            new VersionRef(1, AppId.fromHex("42".repeat(20)), 1), KeyVersionPolicy.initial()));
  }

  @Test
  void theModelTextParsesFromTheRightSoModelIdsMayHoldColons() {
    assertEquals(
        Optional.of(new SignedText.ModelText("demo", H1, H2)),
        SignedText.modelTextOf("demo:" + H1 + ":" + H2));
    assertEquals(
        "llama3:8b", SignedText.modelTextOf("llama3:8b:" + H1 + ":" + H2).orElseThrow().model());
    assertTrue(
        SignedText.modelTextOf(H1 + ":" + H2).isEmpty(), "the two-part NEAR text names no model");
    assertTrue(SignedText.modelTextOf(":" + H1 + ":" + H2).isEmpty(), "an empty model id");
    assertTrue(
        SignedText.modelTextOf("demo:" + H1.toUpperCase() + ":" + H2).isEmpty(),
        "hex is lowercase");
    assertTrue(
        SignedText.modelTextOf("de\nmo:" + H1 + ":" + H2).isEmpty(), "no control characters");
    assertTrue(SignedText.modelTextOf("teekms-response-v2 POST /x:" + H1 + ":" + H2).isEmpty());
    assertThrows(
        IllegalArgumentException.class,
        () -> SignedText.text(SignedText.Format.NEAR_MODEL, null, "", new byte[32], new byte[32]));
    assertEquals(
        Optional.of("demo"),
        SignedText.modelOfRequest("{\"model\":\"demo\"}".getBytes(StandardCharsets.UTF_8)));
    assertTrue(
        SignedText.modelOfRequest("{\"model\":7}".getBytes(StandardCharsets.UTF_8)).isEmpty());
    assertTrue(SignedText.modelOfRequest("not json".getBytes(StandardCharsets.UTF_8)).isEmpty());
  }

  @Test
  void bothAlgorithmsVerifyOnlyTheirOwnSigner() {
    String text = "demo:" + H1 + ":" + H2;
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    AppKeyDeriver d = deriver();
    try (DerivedKey k = d.signingKey(KeyAlgorithm.SECP256K1, "teekms/response-signing");
        DerivedKey e = d.signingKey(KeyAlgorithm.ED25519, "teekms/response-signing")) {
      SignerIdentity ecdsa =
          SignerIdentity.parse("ecdsa", k.ethereumAddress().toChecksumString().toLowerCase())
              .orElseThrow();
      SignerIdentity ed =
          SignerIdentity.parse("ed25519", HexFormat.of().formatHex(e.publicKey())).orElseThrow();
      String ecdsaSig = SignedText.encodeSignature(k.secp256k1Signer().signPersonalMessage(bytes));
      String edSig = HexFormat.of().formatHex(e.ed25519Signer().sign(bytes));
      assertTrue(ecdsa.signed(text, ecdsaSig));
      assertTrue(ed.signed(text, edSig));
      assertFalse(ed.signed(text + " ", edSig));
      assertFalse(ed.signed(text, ecdsaSig));
      assertFalse(ecdsa.signed(text, edSig));
      assertFalse(ed.signed(text, "zz"));
      assertEquals(k.ethereumAddress().toChecksumString(), ecdsa.display());
      byte[] nonce = new byte[32];
      assertEquals(
          HexFormat.of().formatHex(e.publicKey()) + "00".repeat(32),
          HexFormat.of().formatHex(ed.reportData(nonce)),
          "a 32-byte key fills the first half of REPORTDATA");
    }
    assertTrue(
        SignerIdentity.parse("ECDSA", "0x" + "12".repeat(20)).isEmpty(),
        "algorithm names are exact");
    assertTrue(
        SignerIdentity.parse("ed25519", "0x" + "12".repeat(32)).isEmpty(),
        "an Ed25519 key has no 0x");
    assertTrue(SignerIdentity.parse("ed25519", "12".repeat(20)).isEmpty());
  }

  static ObjectNode attestation(String address, String nonce) {
    ObjectNode a = JSON.createObjectNode();
    a.put("signing_address", address);
    a.put("signing_algo", "ecdsa");
    a.put("request_nonce", nonce);
    a.put("intel_quote", "00");
    return a;
  }

  @Test
  void theAttestationCheckedIsTheSignersAndEveryCopyOfItMustAgree() {
    String ours = "0x" + "ab".repeat(20);
    String theirs = "0x" + "cd".repeat(20);
    SignerIdentity signer = SignerIdentity.parse("ecdsa", ours).orElseThrow();
    ObjectNode report = attestation(ours, "11");
    report.putArray("all_attestations").add(attestation(ours, "11"));
    report
        .putArray("model_attestations")
        .add(attestation(theirs, "22"))
        .add(attestation(ours, "11"));
    ReportAttestations.Pick p = ReportAttestations.pick(report, signer);
    assertEquals(
        attestation(ours, "11"), p.attestation().orElseThrow(), "the report without its arrays");

    ((ObjectNode) report.get("model_attestations").get(1)).put("request_nonce", "33");
    assertEquals(
        "MALFORMED_REPORT",
        ReportAttestations.pick(report, signer).code(),
        "an entry that disagrees");

    ObjectNode gateway = attestation(theirs, "22");
    gateway
        .putArray("model_attestations")
        .add(attestation(theirs, "22"))
        .add(attestation(ours, "44"));
    assertEquals(
        "44",
        ReportAttestations.pick(gateway, signer)
            .attestation()
            .orElseThrow()
            .get("request_nonce")
            .asText(),
        "a gateway's merged report: the entry naming the signer");
    ((ObjectNode) gateway.get("model_attestations").get(1)).putArray("all_attestations");
    assertEquals(
        attestation(ours, "44"),
        ReportAttestations.pick(gateway, signer).attestation().orElseThrow(),
        "an entry is compared and checked without nested arrays");
    gateway.putArray("all_attestations").add(attestation(ours, "55"));
    assertEquals("MALFORMED_REPORT", ReportAttestations.pick(gateway, signer).code());

    ObjectNode other = attestation(theirs, "22");
    assertEquals("SIGNER_MISMATCH", ReportAttestations.pick(other, signer).code());
    other.put("model_attestations", "not an array");
    assertEquals("SIGNER_MISMATCH", ReportAttestations.pick(other, signer).code());
    ObjectNode badArray = attestation(ours, "11");
    badArray.put("all_attestations", 7);
    assertEquals("MALFORMED_REPORT", ReportAttestations.pick(badArray, signer).code());
  }
}
