package org.teekms.agent.env;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Coverage-guided fuzz targets (Jazzer) for encrypted environment secrets: the sealed blob (X25519
 * + AES-GCM), its JSON plaintext and .env files. Corpus: {@code
 * src/test/resources/org/teekms/agent/env/EnvFuzzTestInputs/<target>/}. Only {@link
 * EnvSecretException} may escape, and a mutated blob opens only to the original plaintext.
 */
class EnvFuzzTest {
  /**
   * A fixed recipient key and a deterministic seal, so the committed seed blob opens in every run.
   */
  static final byte[] PRIVATE = HexFormat.of().parseHex("a8".repeat(32));

  static final byte[] PLAINTEXT =
      EnvJson.encode(
          List.of(new EnvVar("OPENAI_API_KEY", "sk-fuzz-seed"), new EnvVar("MODEL", "llama")));
  static final byte[] BLOB =
      EnvBlob.encrypt(
          PLAINTEXT,
          EnvBlob.publicKey(PRIVATE),
          HexFormat.of().parseHex("5e".repeat(32)),
          HexFormat.of().parseHex("01".repeat(12)));

  @FuzzTest
  void envBlob(byte[] data) {
    try {
      EnvBlob.checkShape(data);
      Optional<byte[]> opened = EnvBlob.open(data, PRIVATE);
      if (opened.isPresent()) {
        assertArrayEquals(PLAINTEXT, opened.get(), "a mutated blob opened to another plaintext");
        EnvJson.decode(opened.get());
      }
    } catch (EnvSecretException expected) {
      // typed
    }
  }

  @FuzzTest
  void envJson(byte[] data) {
    try {
      List<EnvVar> vars = EnvJson.decode(data);
      assertEquals(vars, EnvJson.decode(EnvJson.encode(vars)), "JSON round trip");
    } catch (EnvSecretException expected) {
      // typed
    }
  }

  @FuzzTest
  void dotEnv(byte[] data) {
    try {
      DotEnv.parse(data);
    } catch (EnvSecretException expected) {
      // typed
    }
  }
}
