package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.teekms.agent.env.EnvBlob;
import org.teekms.agent.env.EnvJson;
import org.teekms.agent.env.EnvVar;

/**
 * Interoperability with dstack in both directions, with the real {@code @phala/dstack-sdk} 0.5.8:
 * the SDK's {@code encryptEnvVars} output opens with our {@link EnvBlob}/{@link EnvJson}; our blobs
 * open in a reference decoder (src/test/node/env-compat.mjs, written from dstack's Rust guest
 * {@code dh_decrypt}, since the SDK has no decoder); and the published vectors
 * (docs/env-secrets-vectors.json) are reproduced byte for byte and open in that decoder.
 */
class EnvSecretsCompatTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void theSdksEncryptedEnvOpensInTheAgent() throws Exception {
    byte[] priv = new byte[32];
    new SecureRandom().nextBytes(priv);
    String envs =
        "[{\"key\":\"HF_TOKEN\",\"value\":\"hf_Grüße \\\"q\\\" $x `y` \\n推理\"},{\"key\":\"EMPTY\",\"value\":\"\"}]";
    NodeRunner.Result r =
        NodeRunner.node(
            "env-compat.mjs",
            Map.of(),
            List.of("encrypt", HEX.formatHex(EnvBlob.publicKey(priv)), envs));
    assertEquals(0, r.exit(), r.stderr());
    byte[] blob = HEX.parseHex(r.stdout().strip());
    List<EnvVar> vars = EnvJson.decode(EnvBlob.open(blob, priv).orElseThrow());
    assertEquals(
        List.of(new EnvVar("HF_TOKEN", "hf_Grüße \"q\" $x `y` \n推理"), new EnvVar("EMPTY", "")),
        vars);

    byte[] other = priv.clone();
    other[5] ^= 1;
    assertTrue(EnvBlob.open(blob, other).isEmpty(), "another key must not open the SDK's blob");
  }

  @Test
  void ourEncryptedEnvOpensInADstackDecoder() throws Exception {
    byte[] priv = new byte[32];
    new SecureRandom().nextBytes(priv);
    List<EnvVar> vars =
        List.of(new EnvVar("OPENAI_API_KEY", "sk-ünïcode \"quoted\"\n$HOME"), new EnvVar("B", "2"));
    byte[] blob =
        EnvBlob.encrypt(EnvJson.encode(vars), EnvBlob.publicKey(priv), new SecureRandom());
    NodeRunner.Result r =
        NodeRunner.node(
            "env-compat.mjs",
            Map.of(),
            List.of("decrypt", HEX.formatHex(priv), HEX.formatHex(blob)));
    assertEquals(0, r.exit(), r.stderr());
    JsonNode env = JSON.readTree(r.stdout()).get("env");
    assertEquals(2, env.size());
    assertEquals("OPENAI_API_KEY", env.get(0).get("key").asText());
    assertEquals("sk-ünïcode \"quoted\"\n$HOME", env.get(0).get("value").asText());
    assertEquals("2", env.get(1).get("value").asText());

    byte[] tampered = blob.clone();
    tampered[tampered.length - 1] ^= 1;
    NodeRunner.Result bad =
        NodeRunner.node(
            "env-compat.mjs",
            Map.of(),
            List.of("decrypt", HEX.formatHex(priv), HEX.formatHex(tampered)));
    assertNotEquals(0, bad.exit(), "the reference decoder must refuse a flipped tag bit");
  }

  @Test
  void theSdkVerifiesTheKmsRootsSignatureOnTheEnvKey() throws Exception {
    try (org.teekms.keys.RootKeyring ring =
            new org.teekms.keys.RootKeyring(
                1, org.teekms.keys.RootKeyring.generateRootSecret(new SecureRandom()));
        org.teekms.keys.DerivedKey root = new org.teekms.keys.KmsKeyDeriver(ring).kmsRootKey(1)) {
      org.teekms.keys.AppId app = org.teekms.keys.AppId.fromHex("5a".repeat(20));
      byte[] pub = EnvBlob.publicKey(HEX.parseHex("11".repeat(32)));
      long now = System.currentTimeMillis() / 1000;
      byte[] sig =
          org.teekms.keys.DstackEnvKeySignature.sign(
              root, org.teekms.keys.DstackEnvKeySignature.message(app, now, pub));
      NodeRunner.Result r =
          NodeRunner.node(
              "env-compat.mjs",
              Map.of(),
              List.of(
                  "verify-pubkey",
                  HEX.formatHex(pub),
                  HEX.formatHex(sig),
                  app.toHex(),
                  Long.toString(now)));
      assertEquals(0, r.exit(), r.stderr());
      assertEquals(
          "0x" + HEX.formatHex(root.publicKey()),
          r.stdout().strip(),
          "dstack's verifyEnvEncryptPublicKey recovers our KMS root key");
      NodeRunner.Result other =
          NodeRunner.node(
              "env-compat.mjs",
              Map.of(),
              List.of(
                  "verify-pubkey",
                  HEX.formatHex(pub),
                  HEX.formatHex(sig),
                  app.toHex(),
                  Long.toString(now - 1)));
      assertNotEquals("0x" + HEX.formatHex(root.publicKey()), other.stdout().strip());
    }
  }

  @Test
  void ourPlaintextIsByteForByteWhatTheSdkEncrypts() {
    // JSON.stringify({env: [{key, value}]}): compact, key before value, non-ASCII as UTF-8, \n
    // escaped.
    assertEquals(
        "{\"env\":[{\"key\":\"A\",\"value\":\"x\\ny\\\"ü\"}]}",
        new String(EnvJson.encode(List.of(new EnvVar("A", "x\ny\"ü"))), StandardCharsets.UTF_8));
  }

  private static JsonNode vectorFile() throws java.io.IOException {
    return JSON.readTree(Files.readAllBytes(Path.of("../docs/env-secrets-vectors.json")));
  }

  static List<Named<JsonNode>> vectors() throws java.io.IOException {
    List<Named<JsonNode>> out = new java.util.ArrayList<>();
    for (JsonNode v : vectorFile().get("vectors")) {
      out.add(Named.of(v.get("name").asText(), v));
    }
    return out;
  }

  @Test
  void theVectorFileHoldsAtLeastTwoVectors() throws Exception {
    assertTrue(vectorFile().get("vectors").size() >= 2);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void aPublishedVectorIsReproducedAndOpensInTheReferenceDecoder(JsonNode v) throws Exception {
    byte[] priv = HEX.parseHex(v.get("recipient_private_key").asText());
    assertEquals(v.get("recipient_public_key").asText(), HEX.formatHex(EnvBlob.publicKey(priv)));
    byte[] plaintext = v.get("plaintext").asText().getBytes(StandardCharsets.UTF_8);
    byte[] blob =
        EnvBlob.encrypt(
            plaintext,
            EnvBlob.publicKey(priv),
            HEX.parseHex(v.get("ephemeral_private_key").asText()),
            HEX.parseHex(v.get("iv").asText()));
    assertEquals(v.get("blob").asText(), HEX.formatHex(blob), v.get("name").asText());
    assertEquals(v.get("ephemeral_public_key").asText(), HEX.formatHex(blob, 0, 32));
    NodeRunner.Result r =
        NodeRunner.node(
            "env-compat.mjs",
            Map.of(),
            List.of("decrypt", HEX.formatHex(priv), v.get("blob").asText()));
    assertEquals(0, r.exit(), r.stderr());
    assertEquals(v.get("plaintext").asText(), r.stdout());
  }
}
