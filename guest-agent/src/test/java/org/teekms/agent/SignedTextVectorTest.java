package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.agent.proxy.ResponseSigner;
import org.teekms.agent.proxy.SignedResponse;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;
import org.teekms.keys.VersionRef;
import org.teekms.verifier.SignedText;
import org.teekms.verifier.SignerIdentity;

/** The test vector of docs/verifiable-inference.md. */
class SignedTextVectorTest {
  static final String REQUEST =
      "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"2+2?\"}]}";
  static final SignedText.Endpoint ENDPOINT =
      new SignedText.Endpoint("POST", "/v1/chat/completions?tenant=a");
  static final String EXPECTED_V2_TEXT =
      "teekms-response-v2 POST /v1/chat/completions?tenant=a "
          + "0a5707e7776f001f2d4cf087bae56150e0649e5cfc6b0054a356fb66699da626:"
          + "33cb38a3f362a63482cd7b52f8778bdcc117891889becd17fcdd57e72f6c404b";
  static final String EXPECTED_V2_SIGNATURE =
      "0x4620733e26543b3e2e06c3fc1d864d1f26dd6ac89e4dc0591e60395cad8922572358dbe4cc0c1033ec217528aa7481ea5379949a4ffc48939d8b80ccb93c95dc1b";
  static final String RESPONSE =
      "{\"id\":\"chatcmpl-1\",\"choices\":[{\"message\":{\"content\":\"4\"}}]}";

  @Test
  void vector() {
    byte[] root = new byte[32];
    java.util.Arrays.fill(root, (byte) 0x01);
    KmsKeyDeriver kms =
        new KmsKeyDeriver(new RootKeyring(1, SecretBytes.copyOf(root, InsecureSecretAccess.get())));
    AppId app = AppId.fromHex("42".repeat(20));
    try (ResponseSigner signer =
            new ResponseSigner(
                new AppKeyDeriver(
                        kms.appRootSecret(new VersionRef(1, app, 1), KeyVersionPolicy.initial()))
                    .signingKey(KeyAlgorithm.SECP256K1, AgentKeys.RESPONSE_SIGNING_PATH),
                SignedText.Format.NEAR);
        ResponseSigner v2 =
            new ResponseSigner(
                new AppKeyDeriver(
                        kms.appRootSecret(new VersionRef(1, app, 1), KeyVersionPolicy.initial()))
                    .signingKey(KeyAlgorithm.SECP256K1, AgentKeys.RESPONSE_SIGNING_PATH))) {
      SignedResponse s =
          signer.sign(
              ENDPOINT,
              SignedText.sha256(REQUEST.getBytes(StandardCharsets.UTF_8)),
              SignedText.sha256(RESPONSE.getBytes(StandardCharsets.UTF_8)));
      SignedResponse t =
          v2.sign(
              ENDPOINT,
              SignedText.sha256(REQUEST.getBytes(StandardCharsets.UTF_8)),
              SignedText.sha256(RESPONSE.getBytes(StandardCharsets.UTF_8)));
      assertEquals(EXPECTED_V2_TEXT, t.text());
      assertEquals(EXPECTED_V2_SIGNATURE, t.signature());
      assertEquals(
          EXPECTED_ADDRESS,
          SignedText.recover(t.text(), t.signature()).orElseThrow().toChecksumString());
      assertEquals(EXPECTED_TEXT, s.text());
      assertEquals(EXPECTED_ADDRESS, s.signingAddress());
      assertEquals(EXPECTED_SIGNATURE, s.signature());
      byte[] nonce = new byte[32];
      java.util.Arrays.fill(nonce, (byte) 0xab);
      assertEquals(
          EXPECTED_REPORT_DATA,
          HexFormat.of().formatHex(SignerIdentity.reportData(signer.addressBytes(), nonce)));
    }
  }

  /**
   * The near-model text and both signatures (checked independently with ethers and Node's Ed25519).
   */
  @Test
  void modelCommittingVector() throws Exception {
    byte[] root = new byte[32];
    java.util.Arrays.fill(root, (byte) 0x01);
    KmsKeyDeriver kms =
        new KmsKeyDeriver(new RootKeyring(1, SecretBytes.copyOf(root, InsecureSecretAccess.get())));
    AppKeyDeriver d =
        new AppKeyDeriver(
            kms.appRootSecret(
                new VersionRef(1, AppId.fromHex("42".repeat(20)), 1), KeyVersionPolicy.initial()));
    AgentKeys.VersionKeys v1 =
        new AgentKeys.VersionKeys(
            1,
            1,
            d,
            null,
            null,
            SecretBytes.copyOf(new byte[32], InsecureSecretAccess.get()),
            null,
            SecretBytes.copyOf(new byte[32], InsecureSecretAccess.get()),
            null);
    try (AgentKeys keys =
            new AgentKeys(
                AppId.fromHex("42".repeat(20)),
                org.teekms.keys.InstanceId.of(new byte[20]),
                java.util.Map.of(1, org.teekms.keys.EthereumAddress.of(new byte[20])),
                1,
                1,
                "g",
                java.util.Map.of(1, v1));
        ResponseSigner signer = ResponseSigner.forAgent(keys, SignedText.Format.NEAR_MODEL)) {
      SignedResponse s =
          signer.sign(
              ENDPOINT,
              "demo",
              SignedText.sha256(REQUEST.getBytes(StandardCharsets.UTF_8)),
              SignedText.sha256(RESPONSE.getBytes(StandardCharsets.UTF_8)));
      assertEquals("demo:" + EXPECTED_TEXT, s.text());
      assertEquals(EXPECTED_ADDRESS, s.signingAddress());
      assertEquals(EXPECTED_MODEL_SIGNATURE, s.signature());
      assertEquals(EXPECTED_ED25519_KEY, s.ed25519().orElseThrow().signingAddress());
      assertEquals(EXPECTED_ED25519_SIGNATURE, s.ed25519().orElseThrow().signature());
      assertEquals(EXPECTED_ED25519_KEY, signer.find("ed25519", null).orElseThrow().address());
    }
  }

  static final String EXPECTED_MODEL_SIGNATURE =
      "0x820111d5ddd0c69170ee6277a5f5ab21852acb7a5d2bc9cb5bb58cca3ca7846e"
          + "66aa7dbea1c0378b24caeed52354dc90222a5b569d371ca7a303496de5bcde351c";
  static final String EXPECTED_ED25519_KEY =
      "6f6488c246189d59f6bc42ac17b568d1468b2affb51d75bdd212c633dc50e8d0";
  static final String EXPECTED_ED25519_SIGNATURE =
      "b09918e72042f7e19671f2cb1dbccee3eaa4171588221f005fea28d12dda0ecf"
          + "617d932b1c0bf0f337d59bb9490d58a39d893b26fe4bf746465ba6a74604e40d";

  static final String EXPECTED_TEXT =
      "0a5707e7776f001f2d4cf087bae56150e0649e5cfc6b0054a356fb66699da626:"
          + "33cb38a3f362a63482cd7b52f8778bdcc117891889becd17fcdd57e72f6c404b";
  static final String EXPECTED_ADDRESS = "0xA641cBc3dc64c73059484D809d64e49D354728E2";
  static final String EXPECTED_SIGNATURE =
      "0x8356d6605675e4dfe618f51cf83482ca592a7ca57a51e24df172933baffbf7a5"
          + "0db7f22de6d36617e4d9c7272f5a617413150873d4a091350f9647a7d44192b11b";
  static final String EXPECTED_REPORT_DATA =
      "a641cbc3dc64c73059484d809d64e49d354728e2000000000000000000000000"
          + "abababababababababababababababababababababababababababababababab";
}
