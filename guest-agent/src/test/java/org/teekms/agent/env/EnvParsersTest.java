package org.teekms.agent.env;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.teekms.agent.env.EnvSecretException.Reason;

/**
 * The three parsers an attacker (the host, or a careless owner) feeds: the blob, its JSON plaintext
 * and .env files. Truncated, oversized, mutated and seeded-random inputs end in an {@link
 * EnvSecretException} with a stable reason (or parse), never an unchecked exception, and no message
 * contains a value (the marker).
 */
class EnvParsersTest {
  private static final String MARKER = "SECRET-MARKER-7f3a9c";
  private static final byte[] KEY = new byte[32];

  static {
    new SecureRandom().nextBytes(KEY);
  }

  private static byte[] blobOf(String json) {
    return EnvBlob.encrypt(
        json.getBytes(StandardCharsets.UTF_8), EnvBlob.publicKey(KEY), new SecureRandom());
  }

  @Test
  void aBlobOpensOnlyWithItsKeyAndIntact() throws Exception {
    byte[] blob = blobOf("{\"env\":[{\"key\":\"A\",\"value\":\"" + MARKER + "\"}]}");
    assertEquals(MARKER, EnvJson.decode(EnvBlob.open(blob, KEY).orElseThrow()).get(0).value());
    for (int i = 0; i < blob.length; i++) {
      byte[] m = blob.clone();
      m[i] ^= (byte) (1 << (i % 8));
      assertDoesNotOpen(m);
    }
    // The bit X25519 ignores (top bit of the ephemeral key) is refused as non-canonical, not
    // silently accepted.
    byte[] top = blob.clone();
    top[31] ^= (byte) 0x80;
    assertEquals(
        Reason.ENV_BLOB_MALFORMED,
        assertThrows(EnvSecretException.class, () -> EnvBlob.open(top, KEY)).reason());
    for (int bit = 0; bit < 8 * blob.length; bit++) {
      byte[] m = blob.clone();
      m[bit / 8] ^= (byte) (1 << (bit % 8));
      assertDoesNotOpen(m);
    }
  }

  @Test
  void truncatedAndOversizedBlobsAreMalformed() {
    byte[] blob = blobOf("{\"env\":[]}");
    for (int n = 0; n < EnvBlob.MIN_BYTES; n++) {
      byte[] t = java.util.Arrays.copyOf(blob, n);
      EnvSecretException e = assertThrows(EnvSecretException.class, () -> EnvBlob.open(t, KEY));
      assertEquals(Reason.ENV_BLOB_MALFORMED, e.reason());
    }
    for (int n = EnvBlob.MIN_BYTES; n < blob.length; n++) {
      byte[] t = java.util.Arrays.copyOf(blob, n);
      assertDoesNotOpen(t);
    }
    EnvSecretException big =
        assertThrows(
            EnvSecretException.class, () -> EnvBlob.open(new byte[EnvBlob.MAX_BYTES + 1], KEY));
    assertEquals(Reason.ENV_BLOB_MALFORMED, big.reason());
  }

  private static void assertDoesNotOpen(byte[] b) {
    try {
      assertTrue(EnvBlob.open(b, KEY).isEmpty());
    } catch (EnvSecretException e) {
      assertEquals(Reason.ENV_BLOB_MALFORMED, e.reason());
    }
  }

  @Test
  void aLowOrderEphemeralKeyDoesNotOpen() throws Exception {
    byte[] blob = blobOf("{\"env\":[]}");
    System.arraycopy(new byte[32], 0, blob, 0, 32); // u = 0: shared secret all zero
    assertTrue(EnvBlob.open(blob, KEY).isEmpty());
  }

  @Test
  void seededRandomBlobsNeverOpenNorThrowUnchecked() {
    Random r = new Random(20261202);
    for (int i = 0; i < 3000; i++) {
      byte[] b = new byte[r.nextInt(200)];
      r.nextBytes(b);
      assertDoesNotOpen(b);
    }
  }

  @Test
  void plaintextChecksRefuseWithoutEchoingValues() {
    String v = "\"" + MARKER + "\"";
    List<String> bad =
        List.of(
            "",
            "[]",
            "{}",
            "{\"env\":{}}",
            "{\"env\":[1]}",
            "{\"env\":[{\"key\":\"A\"}]}",
            "{\"env\":[{\"key\":\"A\",\"value\":" + v + ",\"extra\":" + v + "}]}",
            "{\"env\":[{\"key\":\"A\",\"value\":" + v + "}],\"other\":" + v + "}",
            "{\"env\":[{\"key\":\"A\",\"value\":" + v + ",\"value\":" + v + "}]}",
            "{\"env\":[{\"key\":\"A\",\"value\":" + v + "},{\"key\":\"A\",\"value\":" + v + "}]}",
            "{\"env\":[{\"key\":\"1A\",\"value\":" + v + "}]}",
            "{\"env\":[{\"key\":" + v + ",\"value\":\"x\"}]}",
            "{\"env\":[{\"key\":\"A\",\"value\":5}]}",
            "{\"env\":[{\"key\":\"A\",\"value\":" + v + "}]} trailing" + MARKER,
            "{\"env\":[{\"key\":\"A\",\"value\":\"" + MARKER + "}]}",
            "{\"env\":[{\"key\":\"A\",\"value\":\""
                + "x".repeat(EnvVar.MAX_VALUE_BYTES + 1)
                + "\"}]}");
    for (String s : bad) {
      EnvSecretException e =
          assertThrows(
              EnvSecretException.class,
              () -> EnvJson.decode(s.getBytes(StandardCharsets.UTF_8)),
              s.length() > 80 ? s.substring(0, 80) : s);
      assertEquals(Reason.ENV_PLAINTEXT_INVALID, e.reason());
      assertFalse(e.getMessage().contains(MARKER), e.getMessage());
    }
    StringBuilder many = new StringBuilder("{\"env\":[");
    for (int i = 0; i <= EnvJson.MAX_ITEMS; i++) {
      many.append(i == 0 ? "" : ",").append("{\"key\":\"K").append(i).append("\",\"value\":\"v\"}");
    }
    assertThrows(
        EnvSecretException.class,
        () -> EnvJson.decode((many + "]}").getBytes(StandardCharsets.UTF_8)));
    assertThrows(
        EnvSecretException.class, () -> EnvJson.decode(new byte[] {(byte) 0xff, '{', '}'}));
  }

  @Test
  void mutatedAndRandomPlaintextsParseOrFailCleanly() {
    byte[] good = EnvJson.encode(List.of(new EnvVar("A", MARKER), new EnvVar("B_2", "ü\n\"")));
    Random r = new Random(7);
    for (int i = 0; i < 5000; i++) {
      byte[] m = good.clone();
      int edits = 1 + r.nextInt(4);
      for (int k = 0; k < edits; k++) {
        m[r.nextInt(m.length)] = (byte) r.nextInt(256);
      }
      if (r.nextBoolean()) {
        m = java.util.Arrays.copyOf(m, r.nextInt(m.length + 1));
      }
      try {
        List<EnvVar> vars = EnvJson.decode(m);
        vars.forEach(v -> assertTrue(EnvVar.validName(v.name())));
      } catch (EnvSecretException e) {
        assertEquals(Reason.ENV_PLAINTEXT_INVALID, e.reason());
        assertFalse(e.getMessage().contains(MARKER), e.getMessage());
      }
    }
  }

  @Test
  void dotEnvParsesDstackStyleFiles() throws Exception {
    String file =
        "# comment\r\n\nexport A=plain value \nB=\"x\\ny \\\"q\\\" \\$HOME\" # note\nC='lit $X \\n'\nD=\nE==eq\n";
    List<EnvVar> vars = DotEnv.parse(file.getBytes(StandardCharsets.UTF_8));
    assertEquals(
        List.of(
            new EnvVar("A", "plain value"),
            new EnvVar("B", "x\ny \"q\" $HOME"),
            new EnvVar("C", "lit $X \\n"),
            new EnvVar("D", ""),
            new EnvVar("E", "=eq")),
        vars);
  }

  @Test
  void dotEnvErrorsNameTheLineNeverTheValue() {
    List<String> bad =
        List.of(
            "A",
            MARKER,
            "1A=" + MARKER,
            "A B=" + MARKER,
            "A=\"" + MARKER,
            "A='" + MARKER,
            "A=\"" + MARKER + "\" tail",
            "A=\"\\q" + MARKER + "\"",
            "A=1\nA=" + MARKER,
            "A=" + "x".repeat(EnvVar.MAX_VALUE_BYTES + 1),
            MARKER + "=x");
    for (String s : bad) {
      EnvSecretException e =
          assertThrows(
              EnvSecretException.class,
              () -> DotEnv.parse(s.getBytes(StandardCharsets.UTF_8)),
              s.length() > 60 ? s.substring(0, 60) : s);
      assertEquals(Reason.ENV_FILE_INVALID, e.reason());
      assertFalse(e.getMessage().contains(MARKER), e.getMessage());
    }
    assertThrows(EnvSecretException.class, () -> DotEnv.parse(new byte[DotEnv.MAX_BYTES + 1]));
    assertThrows(EnvSecretException.class, () -> DotEnv.parse(new byte[] {'A', '=', (byte) 0xc3}));
  }

  @Test
  void seededRandomDotEnvFilesParseOrFailCleanly() {
    byte[] seed = "export A=1\nB=\"two\\n\"\nC='3'\n# c\n".getBytes(StandardCharsets.UTF_8);
    Random r = new Random(11);
    for (int i = 0; i < 5000; i++) {
      byte[] m;
      if (i % 5 == 0) {
        m = new byte[r.nextInt(64)];
        r.nextBytes(m);
      } else {
        m = seed.clone();
        for (int k = 0; k < 1 + r.nextInt(3); k++) {
          m[r.nextInt(m.length)] = (byte) (32 + r.nextInt(95));
        }
        m = java.util.Arrays.copyOf(m, r.nextInt(m.length + 1));
      }
      try {
        DotEnv.parse(m).forEach(v -> assertTrue(EnvVar.validName(v.name())));
      } catch (EnvSecretException e) {
        assertEquals(Reason.ENV_FILE_INVALID, e.reason());
      }
    }
  }

  @Test
  void dstackQuotingOfTheShellFile() {
    assertEquals("simple", EnvFiles.shellValue("simple"));
    assertEquals("\"hello world\"", EnvFiles.shellValue("hello world"));
    assertEquals("\"say \\\"hello\\\"\"", EnvFiles.shellValue("say \"hello\""));
    assertEquals("\"line1\\nline2\"", EnvFiles.shellValue("line1\nline2"));
    assertEquals("\"price=\\$100\"", EnvFiles.shellValue("price=$100"));
    assertEquals("\"command=\\`date\\`\"", EnvFiles.shellValue("command=`date`"));
  }

  @Test
  void envVarNeverPrintsItsValue() {
    assertFalse(new EnvVar("A", MARKER).toString().contains(MARKER));
    assertFalse(new DecryptedEnv(1, List.of(new EnvVar("A", MARKER))).toString().contains(MARKER));
    List<String> names = new ArrayList<>();
    names.add("A");
    assertEquals(names, new DecryptedEnv(1, List.of(new EnvVar("A", MARKER))).names());
  }
}
