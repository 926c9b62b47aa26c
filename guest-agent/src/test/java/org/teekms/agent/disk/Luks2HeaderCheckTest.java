package org.teekms.agent.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Luks2HeaderCheck} against a real header (made by cryptsetup 2.6.1, see
 * src/test/resources/luks2/README.md) and headers planted from it the way a host would: JSON
 * edited, both checksums recomputed, so only the metadata checks stand between them and cryptsetup.
 */
public class Luks2HeaderCheckTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int H = 16384;

  @TempDir Path dir;

  static byte[] real() throws Exception {
    try (InputStream in =
        Luks2HeaderCheckTest.class.getResourceAsStream("/luks2/aes-xts-512.hdr")) {
      return in.readAllBytes();
    }
  }

  /**
   * The real header with its JSON edited in both copies and both checksums recomputed (what a host
   * can write).
   */
  public static byte[] planted(Consumer<ObjectNode> edit) throws Exception {
    byte[] b = real();
    int end = Luks2HeaderCheck.BINARY_HEADER;
    while (b[end] != 0) {
      end++;
    }
    ObjectNode json =
        (ObjectNode) JSON.readTree(new String(b, 4096, end - 4096, StandardCharsets.UTF_8));
    edit.accept(json);
    return withJson(b, JSON.writeValueAsString(json));
  }

  static byte[] withJson(byte[] base, String json) {
    byte[] b = base.clone();
    byte[] text = json.getBytes(StandardCharsets.UTF_8);
    for (int off : new int[] {0, H}) {
      Arrays.fill(b, off + 4096, off + H, (byte) 0);
      System.arraycopy(text, 0, b, off + 4096, Math.min(text.length, H - 4096));
      resum(b, off);
    }
    return b;
  }

  static void resum(byte[] b, int off) {
    byte[] h = Arrays.copyOfRange(b, off, off + H);
    System.arraycopy(Luks2HeaderCheck.checksum(h), 0, b, off + Luks2HeaderCheck.OFF_CSUM, 32);
  }

  static String refusal(byte[] region) {
    return assertThrows(Luks2HeaderCheck.Refused.class, () -> Luks2HeaderCheck.check(region))
        .getMessage();
  }

  public static final Consumer<ObjectNode> NULL_CIPHER =
      j -> {
        ((ObjectNode) j.path("segments").path("0")).put("encryption", "cipher_null-ecb");
        ObjectNode slot = (ObjectNode) j.path("keyslots").path("0");
        slot.put("key_size", 0);
        ((ObjectNode) slot.path("area")).put("encryption", "cipher_null-ecb").put("key_size", 0);
      };

  @Test
  void theHeaderCryptsetupWritesIsAccepted() throws Exception {
    Luks2HeaderCheck.Accepted a = Luks2HeaderCheck.check(real());
    assertEquals(
        new Luks2HeaderCheck.Accepted(16384, 3, 16777216, 4096, 32768, 258048, 16777216), a);
  }

  @Test
  void aPlantedNullCipherHeaderIsRefused() throws Exception {
    assertEquals(
        "segment 0: encryption 'cipher_null-ecb', expected 'aes-xts-plain64'",
        refusal(planted(NULL_CIPHER)));
    assertEquals(
        "keyslot 0 area: encryption 'cipher_null-ecb', expected 'aes-xts-plain64'",
        refusal(
            planted(
                j ->
                    ((ObjectNode) j.path("keyslots").path("0").path("area"))
                        .put("encryption", "cipher_null-ecb"))));
  }

  /** The planted header is one cryptsetup itself takes as valid: only our check refuses it. */
  @Test
  void cryptsetupAcceptsThePlantedHeaderSoTheCheckIsWhatStopsIt() throws Exception {
    Path cryptsetup = Path.of("/usr/sbin/cryptsetup");
    Assumptions.assumeTrue(Files.isExecutable(cryptsetup), "cryptsetup is not installed");
    Path image = dir.resolve("planted.img");
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.setLength(20L << 20);
      f.write(planted(NULL_CIPHER));
    }
    Process p =
        new ProcessBuilder(cryptsetup.toString(), "luksDump", image.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    assertTrue(out.contains("cipher_null-ecb"), out);
    assertThrows(Luks2HeaderCheck.Refused.class, () -> Luks2HeaderCheck.check(image));
  }

  /**
   * With the real cryptsetup: what {@link Cryptsetup#format} writes passes the check, and the
   * detached copy that {@code DiskOpen} hands to cryptsetup unlocks with the disk passphrase and
   * only with it.
   */
  @Test
  void realCryptsetupFormatPassesAndItsDetachedCopyUnlocks() throws Exception {
    Path cryptsetup = Path.of("/usr/sbin/cryptsetup");
    Assumptions.assumeTrue(Files.isExecutable(cryptsetup), "cryptsetup is not installed");
    Path image = dir.resolve("disk.img");
    try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
      f.setLength(20L << 20);
    }
    byte[] pass =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            .getBytes(StandardCharsets.US_ASCII);
    try (org.teekms.keys.SecretBytes secret =
        org.teekms.keys.SecretBytes.copyOf(pass, org.teekms.keys.InsecureSecretAccess.get())) {
      new Cryptsetup(cryptsetup, java.time.Duration.ofSeconds(60)).format(image, secret);
    }
    Path copy = Files.createFile(dir.resolve("header.img"));
    Luks2HeaderCheck.Accepted a = Luks2HeaderCheck.checkAndCopy(image, copy);
    assertEquals(16L << 20, Files.size(copy));
    assertEquals(a.keyslotsEnd(), Files.size(copy));
    assertEquals(0, testPassphrase(cryptsetup, copy, image, pass));
    assertTrue(
        testPassphrase(cryptsetup, copy, image, "wrong".getBytes(StandardCharsets.US_ASCII)) != 0);
  }

  private static int testPassphrase(Path cryptsetup, Path header, Path image, byte[] pass)
      throws Exception {
    Process p =
        new ProcessBuilder(
                cryptsetup.toString(),
                "open",
                "--test-passphrase",
                "--type",
                "luks2",
                "--header",
                header.toString(),
                "--key-file=-",
                image.toString())
            .redirectErrorStream(true)
            .start();
    try (var in = p.getOutputStream()) {
      in.write(pass);
    }
    p.getInputStream().readAllBytes();
    return p.waitFor();
  }

  @Test
  void otherCiphersKeySizesAndShapesAreRefused() throws Exception {
    assertEquals(
        "segment 0: encryption 'aes-cbc-essiv:sha256', expected 'aes-xts-plain64'",
        refusal(
            planted(
                j ->
                    ((ObjectNode) j.path("segments").path("0"))
                        .put("encryption", "aes-cbc-essiv:sha256"))));
    assertEquals(
        "keyslot 0: volume key of 32 bytes, expected 64",
        refusal(planted(j -> ((ObjectNode) j.path("keyslots").path("0")).put("key_size", 32))));
    assertEquals(
        "keyslot 0 area: key of 32 bytes, expected 64",
        refusal(
            planted(
                j ->
                    ((ObjectNode) j.path("keyslots").path("0").path("area")).put("key_size", 32))));
    assertEquals(
        "tokens: 1 present, none expected (0)",
        refusal(
            planted(
                j -> ((ObjectNode) j.path("tokens")).putObject("0").put("type", "systemd-tpm2"))));
    assertTrue(
        refusal(
                planted(
                    j ->
                        ((ObjectNode) j.path("config"))
                            .putObject("requirements")
                            .putArray("mandatory")
                            .add("online-reencrypt-v2")))
            .startsWith("config: requirements "));
    assertTrue(
        refusal(
                planted(
                    j -> ((ObjectNode) j.path("config")).putArray("flags").add("allow-discards")))
            .startsWith("config: persistent flags "));
    assertEquals(
        "segment 0: integrity protection (dm-integrity) is not accepted",
        refusal(
            planted(
                j ->
                    ((ObjectNode) j.path("segments").path("0"))
                        .putObject("integrity")
                        .put("type", "hmac(sha256)"))));
    assertTrue(
        refusal(
                planted(
                    j ->
                        ((ObjectNode) j.path("segments").path("0"))
                            .putArray("flags")
                            .add("backup-final")))
            .startsWith("segment 0: flags "));
    assertEquals(
        "keyslots: expected exactly one, found 2 [0, 1]",
        refusal(
            planted(
                j ->
                    ((ObjectNode) j.path("keyslots"))
                        .set("1", j.path("keyslots").path("0").deepCopy()))));
    assertEquals(
        "segments: expected exactly one, \"0\"; found [0, 1]",
        refusal(
            planted(
                j ->
                    ((ObjectNode) j.path("segments"))
                        .set("1", j.path("segments").path("0").deepCopy()))));
    assertEquals(
        "keyslot 0: type 'reencrypt', expected 'luks2'",
        refusal(
            planted(j -> ((ObjectNode) j.path("keyslots").path("0")).put("type", "reencrypt"))));
    assertEquals(
        "keyslot 0: unexpected field 'priority'",
        refusal(planted(j -> ((ObjectNode) j.path("keyslots").path("0")).put("priority", 2))));
    assertEquals("metadata: unexpected field 'extra'", refusal(planted(j -> j.put("extra", 1))));
    assertEquals(
        "digest 0: must cover exactly keyslot 0 and segment 0, covers keyslots [\"0\"] segments []",
        refusal(
            planted(j -> ((ArrayNode) j.path("digests").path("0").path("segments")).removeAll())));
    assertEquals(
        "keyslot 0 kdf: pbkdf2 iterations 1 below 1000",
        refusal(
            planted(
                j ->
                    ((ObjectNode) j.path("keyslots").path("0").path("kdf")).put("iterations", 1))));
    assertTrue(
        refusal(planted(j -> ((ObjectNode) j.path("segments").path("0")).put("offset", "4096")))
            .startsWith("segment 0: data offset 4096 overlaps the header"));
    assertTrue(
        refusal(
                planted(
                    j ->
                        ((ObjectNode) j.path("keyslots").path("0").path("area"))
                            .put("offset", "0")))
            .startsWith("keyslot 0 area: [0, +258048) is outside the keyslot area"));
  }

  @Test
  void duplicateKeysAreRefusedNotResolved() throws Exception {
    byte[] b = real();
    String json = new String(b, 4096, indexOfNul(b, 4096) - 4096, StandardCharsets.UTF_8);
    String dup =
        json.replaceFirst(
            "\"encryption\":\"aes-xts-plain64\",\"sector_size\"",
            "\"encryption\":\"aes-xts-plain64\",\"encryption\":\"cipher_null-ecb\",\"sector_size\"");
    assertFalse(dup.equals(json), "the segment's encryption field was found");
    assertTrue(
        refusal(withJson(b, dup))
            .startsWith("JSON metadata: not valid JSON (Duplicate field 'encryption'"));
  }

  @Test
  void checksumsAndCopiesMustAgree() throws Exception {
    byte[] b = real();
    byte[] p = b.clone();
    p[5000] ^= 1;
    assertEquals("primary header: checksum mismatch", refusal(p));
    byte[] s = b.clone();
    s[H + 5000] ^= 1;
    assertEquals("secondary header: checksum mismatch", refusal(s));
    byte[] json = planted(j -> j.put("extra", 1));
    byte[] mixed = b.clone();
    System.arraycopy(json, H, mixed, H, H);
    assertEquals("the header copies differ: JSON metadata", refusal(mixed));
    byte[] seq = b.clone();
    ByteBuffer.wrap(seq).putLong(H + Luks2HeaderCheck.OFF_SEQID, 4);
    resum(seq, H);
    assertEquals("the header copies differ: seqid 3 vs 4", refusal(seq));
    byte[] alg = b.clone();
    System.arraycopy(
        "sha1\0\0".getBytes(StandardCharsets.US_ASCII), 0, alg, Luks2HeaderCheck.OFF_CSUM_ALG, 6);
    assertEquals("primary header: checksum algorithm 'sha1', expected sha256", refusal(alg));
    byte[] off = b.clone();
    ByteBuffer.wrap(off).putLong(H + Luks2HeaderCheck.OFF_HDR_OFFSET, 0);
    resum(off, H);
    assertEquals("secondary header: hdr_offset 0, expected 16384", refusal(off));
    byte[] version = b.clone();
    version[7] = 1;
    assertEquals("primary header: version 1, expected 2", refusal(version));
  }

  @Test
  void truncatedAndOversizedHeadersAreRefused() throws Exception {
    byte[] b = real();
    for (int n : new int[] {0, 6, 100, 4095, 4096, 16384, 32767}) {
      assertTrue(refusal(Arrays.copyOf(b, n)).startsWith("truncated"), "length " + n);
    }
    assertTrue(refusal(new byte[0]).startsWith("truncated: 0 bytes"));
    byte[] huge = b.clone();
    ByteBuffer.wrap(huge).putLong(Luks2HeaderCheck.OFF_HDR_SIZE, 8L << 20);
    assertEquals(
        "primary header: hdr_size 8388608 is not a LUKS2 header size (16 KiB … 4 MiB, powers of two)",
        refusal(huge));
    byte[] odd = b.clone();
    ByteBuffer.wrap(odd).putLong(Luks2HeaderCheck.OFF_HDR_SIZE, 12345);
    assertTrue(refusal(odd).contains("hdr_size 12345"));
    byte[] big = b.clone();
    ByteBuffer.wrap(big).putLong(Luks2HeaderCheck.OFF_HDR_SIZE, 4L << 20);
    assertEquals("truncated: 32768 bytes, both header copies need 8388608", refusal(big));
    byte[] unterminated = b.clone();
    for (int off : new int[] {0, H}) {
      Arrays.fill(unterminated, off + 4096, off + H, (byte) ' ');
      resum(unterminated, off);
    }
    assertEquals("JSON metadata: not NUL-terminated within its area", refusal(unterminated));
    assertEquals(
        "not a LUKS2 device: no primary header magic at offset 0", refusal(new byte[2 * H]));
  }

  @Test
  void aDeviceFileIsReadAndCheckedAndAShortOneRefused() throws Exception {
    Path good = dir.resolve("good");
    Files.write(good, real());
    assertEquals(4096, Luks2HeaderCheck.check(good).sectorSize());
    Path shortFile = dir.resolve("short");
    Files.write(shortFile, Arrays.copyOf(real(), 20000));
    assertEquals(
        "truncated: 20000 bytes, both header copies need 32768",
        assertThrows(Luks2HeaderCheck.Refused.class, () -> Luks2HeaderCheck.check(shortFile))
            .getMessage());
    Path empty = dir.resolve("empty");
    Files.createFile(empty);
    assertTrue(
        assertThrows(Luks2HeaderCheck.Refused.class, () -> Luks2HeaderCheck.check(empty))
            .getMessage()
            .startsWith("truncated: 0 bytes"));
  }

  /**
   * Seeded random mutations, raw and with checksums repaired (so the JSON checks see them):
   * refused, never thrown.
   */
  @Test
  void fuzzedHeadersAreRefusedWithOneLineReasons() throws Exception {
    byte[] b = real();
    Random random = new Random(0x15AL);
    int accepted = 0;
    for (int i = 0; i < 3000; i++) {
      byte[] m = b.clone();
      boolean inJson = i % 2 == 0;
      int flips = 1 + random.nextInt(4);
      int jsonEnd = indexOfNul(b, 4096);
      for (int k = 0; k < flips; k++) {
        int at = inJson ? 4096 + random.nextInt(jsonEnd - 4096 + 1) : random.nextInt(m.length);
        m[at] = (byte) random.nextInt(256);
        if (inJson) {
          m[H + at] = m[at];
        }
      }
      if (inJson) {
        resum(m, 0);
        resum(m, H);
      }
      if (random.nextInt(10) == 0) {
        m = Arrays.copyOf(m, random.nextInt(m.length));
      }
      try {
        Luks2HeaderCheck.check(m);
        accepted++;
      } catch (Luks2HeaderCheck.Refused r) {
        assertFalse(r.getMessage().isBlank() || r.getMessage().contains("\n"), r.getMessage());
      } catch (RuntimeException e) {
        fail("mutation " + i + " threw " + e);
      }
    }
    assertTrue(accepted < 300, "most mutations must be refused, " + accepted + " accepted");
  }

  private static int indexOfNul(byte[] b, int from) {
    int i = from;
    while (b[i] != 0) {
      i++;
    }
    return i;
  }
}
