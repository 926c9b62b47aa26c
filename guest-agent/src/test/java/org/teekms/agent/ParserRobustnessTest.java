package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.teekms.agent.boot.AppCompose;
import org.teekms.attest.gpu.GpuSimulator;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.crypto.Bytes;
import org.teekms.verifier.ExpectedIdentity;
import org.teekms.verifier.GpuRequirement;
import org.teekms.verifier.NvidiaPayload;
import org.teekms.verifier.ResponseVerification;
import org.teekms.verifier.SignedText;

/**
 * Truncated, oversized and mutated inputs to every parser the agent exposes: typed errors, never a
 * crash.
 */
class ParserRobustnessTest {
  @Test
  void appComposeIsStrictWhereItMatters() {
    byte[] ok = AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8);
    AppCompose c = AppCompose.parse(ok);
    assertEquals("demo-llm", c.name());
    assertEquals(SignedText.sha256(ok).length, c.composeHash().length());
    assertThrows(IllegalArgumentException.class, () -> AppCompose.parse(new byte[0]));
    assertThrows(
        IllegalArgumentException.class, () -> AppCompose.parse(new byte[AppCompose.MAX_BYTES + 1]));
    assertThrows(IllegalArgumentException.class, () -> AppCompose.parse("[1]".getBytes()));
    assertThrows(
        IllegalArgumentException.class,
        () -> AppCompose.parse("{\"key_provider\":\"local\"}".getBytes()));
    assertThrows(
        IllegalArgumentException.class,
        () -> AppCompose.parse("{\"key_provider_id\":\"abcd\"}".getBytes()));
    assertThrows(IllegalArgumentException.class, () -> AppCompose.parse("{\"name\":7}".getBytes()));
    Random rnd = new Random(1);
    for (int i = 0; i < 2000; i++) {
      byte[] m = mutate(ok, rnd);
      try {
        AppCompose.parse(m);
      } catch (IllegalArgumentException expected) {
        // a typed refusal
      }
    }
  }

  @Test
  void nvidiaPayloadRoundTripsAndRejectsGarbage() {
    byte[] nonce = new byte[32];
    new SecureRandom().nextBytes(nonce);
    GpuSimulator sim = GpuSimulator.create(2, new SecureRandom());
    String text = new NvidiaPayload(Bytes.copyOf(nonce), sim.evidence(nonce)).encode();
    NvidiaPayload back = NvidiaPayload.decode(text);
    assertTrue(Arrays.equals(nonce, back.nonce().toByteArray()));
    assertEquals(sim.evidence(nonce).gpus().size(), back.evidence().gpus().size());
    assertThrows(IllegalArgumentException.class, () -> NvidiaPayload.decode(null));
    assertThrows(
        IllegalArgumentException.class,
        () -> NvidiaPayload.decode("x".repeat(NvidiaPayload.MAX_CHARS + 1)));
    assertThrows(
        IllegalArgumentException.class,
        () -> NvidiaPayload.decode(text.substring(0, text.length() / 2)));
    Random rnd = new Random(2);
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < 500; i++) {
      try {
        NvidiaPayload.decode(new String(mutate(bytes, rnd), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException expected) {
        // a typed refusal
      }
    }
  }

  @Test
  void theResponseVerifierNeverThrowsAndNeverAcceptsGarbage() {
    // no identity could be expected: garbage must still fail at a named row, never throw
    ResponseVerification v =
        new ResponseVerification(
            new ResponseVerification.Settings(
                new DcapQuoteVerifier(SimulatedRaTls.TDX.rootCertificate()),
                request -> SimulatedRaTls.COLLATERAL,
                Instant.now(),
                null,
                new SignedText.Endpoint("POST", "/v1/chat/completions"),
                false,
                Optional.empty()));
    ExpectedIdentity expected =
        ExpectedIdentity.explicit(
            Optional.empty(),
            Bytes.copyOf(new byte[32]),
            Bytes.copyOf(new byte[32]),
            java.util.Set.of(),
            QuotePolicy.builder().build(),
            GpuRequirement.NONE);
    byte[] report =
        ("{\"signing_address\":\"0x"
                + "11".repeat(20)
                + "\",\"request_nonce\":\""
                + "22".repeat(32)
                + "\",\"intel_quote\":\""
                + "00".repeat(700)
                + "\",\"event_log\":\"[]\",\"nvidia_payload\":null}")
            .getBytes(StandardCharsets.UTF_8);
    byte[] sig =
        ("{\"text\":\"a:b\",\"signature\":\"0x"
                + "33".repeat(65)
                + "\",\"signing_address\":\"0x"
                + "11".repeat(20)
                + "\",\"signing_algo\":\"ecdsa\"}")
            .getBytes(StandardCharsets.UTF_8);
    Random rnd = new Random(3);
    for (int i = 0; i < 1000; i++) {
      ResponseVerification.Result verdict =
          v.verify(
              expected, mutate(report, rnd), mutate(sig, rnd), new byte[i % 7], new byte[i % 5]);
      assertFalse(verdict.valid());
      assertTrue(
          verdict.failure().map(c -> !c.code().isEmpty()).orElse(false),
          verdict.toJson().toString());
    }
  }

  @Test
  void signedTextRecoveryRejectsMalformedSignatures() {
    assertTrue(SignedText.recover("x", "0x12").isEmpty());
    assertTrue(SignedText.recover("x", "not hex").isEmpty());
    assertTrue(SignedText.recover("x", "0x" + "00".repeat(65)).isEmpty());
    assertEquals(
        "\u0019Ethereum Signed Message:\n3abc",
        new String(SignedText.personalMessage("abc"), StandardCharsets.UTF_8));
  }

  @Test
  void configRefusesUnknownKeysAndHexIsStrict() {
    Properties p = new Properties();
    p.setProperty("kms.hots", "typo");
    assertThrows(IllegalArgumentException.class, () -> new AgentConfig(p));
    assertThrows(IllegalArgumentException.class, () -> HexField.parse("f", "0xabc", -1));
    assertThrows(IllegalArgumentException.class, () -> HexField.parse("f", "abcd", 3));
    assertEquals("abcd", HexFormat.of().formatHex(HexField.parse("f", "0xABCD", 2)));
  }

  static byte[] mutate(byte[] in, Random rnd) {
    byte[] b = in.clone();
    switch (rnd.nextInt(3)) {
      case 0 -> {
        return Arrays.copyOf(b, rnd.nextInt(b.length + 1));
      }
      case 1 -> {
        for (int k = 0; k < 1 + rnd.nextInt(4); k++) {
          b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
        }
        return b;
      }
      default -> {
        byte[] tail = new byte[1 + rnd.nextInt(64)];
        rnd.nextBytes(tail);
        byte[] longer = Arrays.copyOf(b, b.length + tail.length);
        System.arraycopy(tail, 0, longer, b.length, tail.length);
        return longer;
      }
    }
  }
}
