package org.teekms.agent.disk;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Set;
import org.teekms.crypto.Digests;

/**
 * Checks a LUKS2 header (both binary headers and their JSON metadata, LUKS2 on-disk format) before
 * the agent lets cryptsetup open the device with the disk key. The data disk is host storage: the
 * host can replace its header with one whose keyslot and segment use {@code cipher_null} (dstack
 * was bitten by exactly that), so any passphrase opens it and everything the app writes lands on
 * the disk in clear. Only the shape that {@link Cryptsetup#format} writes is accepted. Checks, in
 * order (the first failure is the reason):
 *
 * <ol>
 *   <li>binary headers: the primary at offset 0 (magic {@code LUKS\xba\xbe}) and the secondary at
 *       {@code hdr_size} ({@code SKUL\xba\xbe}), version 2, {@code hdr_size} one of the sizes the
 *       format allows (16 KiB … 4 MiB) and the same in both, each header's {@code hdr_offset} its
 *       own offset, checksum algorithm {@code sha256}, each checksum right (SHA-256 over the header
 *       and its JSON area with the checksum field zeroed);
 *   <li>both copies agree: the same {@code seqid}, UUID and byte-identical JSON areas (so whichever
 *       copy cryptsetup prefers, it reads what was checked here);
 *   <li>JSON: NUL-terminated UTF-8, no duplicate keys, exactly the sections {@code keyslots,
 *       tokens, segments, digests, config};
 *   <li>config: {@code json_size} = hdr_size − 4096, no {@code flags}, no {@code requirements}
 *       (online reencryption and other mandatory requirements are refused);
 *   <li>tokens: none;
 *   <li>segments: exactly one ({@code "0"}), type {@code crypt}, encryption {@link #CIPHER}, {@code
 *       iv_tweak} 0, sector size 512 or 4096, no {@code integrity}, no {@code flags}, data offset
 *       at or after the keyslot area;
 *   <li>keyslots: exactly one, type {@code luks2}, a {@value #KEY_BYTES}-byte volume key,
 *       anti-forensic splitter {@code luks1}, raw area encrypted with {@link #CIPHER} and a {@value
 *       #KEY_BYTES}-byte key, inside the keyslot area, KDF pbkdf2, argon2i or argon2id, no
 *       priority/reencryption fields;
 *   <li>digests: exactly one, type {@code pbkdf2}, covering that keyslot and that segment.
 * </ol>
 *
 * Anything unknown is refused: a field this class does not know is a field whose effect it cannot
 * vouch for.
 */
public final class Luks2HeaderCheck {

  /** The data cipher and its key size: what {@link Cryptsetup#format} writes. */
  public static final String CIPHER = "aes-xts-plain64";

  public static final int KEY_BYTES = 64;

  static final int BINARY_HEADER = 4096;
  private static final Set<Long> HDR_SIZES =
      Set.of(
          0x4000L, 0x8000L, 0x10000L, 0x20000L, 0x40000L, 0x80000L, 0x100000L, 0x200000L,
          0x400000L);

  /** cryptsetup's limit on the keyslot area (LUKS2_MAX_KEYSLOTS_SIZE). */
  private static final long MAX_KEYSLOTS_SIZE = 128L << 20;

  /**
   * 4000 anti-forensic stripes of a 64-byte key take 256000 bytes; anything far larger is not our
   * keyslot.
   */
  private static final long MAX_AREA_SIZE = 1L << 20;

  static final byte[] MAGIC_PRIMARY = {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe};
  static final byte[] MAGIC_SECONDARY = {'S', 'K', 'U', 'L', (byte) 0xba, (byte) 0xbe};
  static final int OFF_HDR_SIZE = 8;
  static final int OFF_SEQID = 16;
  static final int OFF_CSUM_ALG = 72;
  static final int OFF_UUID = 168;
  static final int OFF_HDR_OFFSET = 256;
  static final int OFF_CSUM = 448;
  static final int CSUM_LEN = 64;

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  static {
    JSON.getFactory()
        .setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).build());
  }

  /** The header was refused; the message is one line saying why. */
  public static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }
  }

  /**
   * What was accepted: the header size, the sequence id, the segment's data offset and sector size,
   * the one keyslot's area and the end of the keyslot area (the size a detached header file must
   * have).
   */
  public record Accepted(
      long hdrSize,
      long seqId,
      long dataOffset,
      int sectorSize,
      long keyslotAreaOffset,
      long keyslotAreaSize,
      long keyslotsEnd) {}

  private Luks2HeaderCheck() {}

  /** Reads both header copies from the start of {@code device} and checks them. */
  public static Accepted check(Path device) throws Refused, IOException {
    try (SeekableByteChannel ch = Files.newByteChannel(device, StandardOpenOption.READ)) {
      return check(readRegion(ch));
    }
  }

  /**
   * Reads the header from {@code device} once, checks it, and writes exactly the checked bytes
   * (both header copies) plus the keyslot's area (opaque ciphertext of the volume key) into {@code
   * headerFile}, a sparse file of the size cryptsetup expects of a detached header. Opening with
   * {@code --header headerFile} then uses the metadata that was checked, whatever the host serves
   * on a later read of the device.
   */
  public static Accepted checkAndCopy(Path device, Path headerFile) throws Refused, IOException {
    try (SeekableByteChannel ch = Files.newByteChannel(device, StandardOpenOption.READ)) {
      byte[] region = readRegion(ch);
      Accepted a = check(region);
      ch.position(a.keyslotAreaOffset());
      byte[] area = readUpTo(ch, (int) a.keyslotAreaSize());
      if (area.length != a.keyslotAreaSize()) {
        throw new Refused("truncated: the device ends inside the keyslot area");
      }
      try (SeekableByteChannel out =
          Files.newByteChannel(
              headerFile, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        out.write(ByteBuffer.wrap(region, 0, (int) (2 * a.hdrSize())));
        out.position(a.keyslotAreaOffset());
        out.write(ByteBuffer.wrap(area));
        if (out.size() < a.keyslotsEnd()) {
          out.position(a.keyslotsEnd() - 1);
          out.write(ByteBuffer.wrap(new byte[1]));
        }
      }
      return a;
    }
  }

  private static byte[] readRegion(SeekableByteChannel ch) throws Refused, IOException {
    byte[] first = readUpTo(ch, BINARY_HEADER);
    if (first.length < BINARY_HEADER) {
      throw new Refused(
          "truncated: " + first.length + " bytes, a LUKS2 binary header is " + BINARY_HEADER);
    }
    long hdrSize = primaryHdrSize(first);
    ch.position(0);
    return readUpTo(ch, (int) (2 * hdrSize));
  }

  /**
   * Checks the two header copies at the start of {@code region} (at least 2 × hdr_size bytes; more
   * is ignored).
   */
  public static Accepted check(byte[] region) throws Refused {
    try {
      return checkUnchecked(region);
    } catch (Refused r) {
      throw r;
    } catch (RuntimeException e) {
      // Every path above is meant to refuse explicitly; this keeps the "never an unchecked
      // exception" promise.
      throw new Refused("malformed: " + e.getClass().getSimpleName());
    }
  }

  private static Accepted checkUnchecked(byte[] region) throws Refused {
    if (region == null || region.length < BINARY_HEADER) {
      throw new Refused(
          "truncated: "
              + (region == null ? 0 : region.length)
              + " bytes, a LUKS2 binary header is "
              + BINARY_HEADER);
    }
    long hdrSize = primaryHdrSize(region);
    if (region.length < 2 * hdrSize) {
      throw new Refused(
          "truncated: " + region.length + " bytes, both header copies need " + (2 * hdrSize));
    }
    byte[] primary = Arrays.copyOfRange(region, 0, (int) hdrSize);
    byte[] secondary = Arrays.copyOfRange(region, (int) hdrSize, (int) (2 * hdrSize));
    binary(primary, "primary", MAGIC_PRIMARY, hdrSize, 0);
    binary(secondary, "secondary", MAGIC_SECONDARY, hdrSize, hdrSize);
    long seqId = u64(primary, OFF_SEQID);
    if (seqId != u64(secondary, OFF_SEQID)) {
      throw new Refused(
          "the header copies differ: seqid " + seqId + " vs " + u64(secondary, OFF_SEQID));
    }
    if (!Arrays.equals(primary, OFF_UUID, OFF_UUID + 40, secondary, OFF_UUID, OFF_UUID + 40)) {
      throw new Refused("the header copies differ: UUID");
    }
    if (!Arrays.equals(
        primary, BINARY_HEADER, (int) hdrSize, secondary, BINARY_HEADER, (int) hdrSize)) {
      throw new Refused("the header copies differ: JSON metadata");
    }
    JsonNode root = json(primary);
    return metadata(root, hdrSize, seqId);
  }

  private static long primaryHdrSize(byte[] b) throws Refused {
    if (!Arrays.equals(b, 0, 6, MAGIC_PRIMARY, 0, 6)) {
      throw new Refused("not a LUKS2 device: no primary header magic at offset 0");
    }
    long hdrSize = u64(b, OFF_HDR_SIZE);
    if (!HDR_SIZES.contains(hdrSize)) {
      throw new Refused(
          "primary header: hdr_size "
              + hdrSize
              + " is not a LUKS2 header size (16 KiB … 4 MiB, powers "
              + "of two)");
    }
    return hdrSize;
  }

  private static void binary(
      byte[] h, String which, byte[] magic, long hdrSize, long expectedOffset) throws Refused {
    if (!Arrays.equals(h, 0, 6, magic, 0, 6)) {
      throw new Refused(which + " header: bad magic");
    }
    int version = ((h[6] & 0xff) << 8) | (h[7] & 0xff);
    if (version != 2) {
      throw new Refused(which + " header: version " + version + ", expected 2");
    }
    if (u64(h, OFF_HDR_SIZE) != hdrSize) {
      throw new Refused(
          which
              + " header: hdr_size "
              + u64(h, OFF_HDR_SIZE)
              + " differs from the primary's "
              + hdrSize);
    }
    if (u64(h, OFF_HDR_OFFSET) != expectedOffset) {
      throw new Refused(
          which + " header: hdr_offset " + u64(h, OFF_HDR_OFFSET) + ", expected " + expectedOffset);
    }
    String alg = cString(h, OFF_CSUM_ALG, 32);
    if (!alg.equals("sha256")) {
      throw new Refused(
          which + " header: checksum algorithm '" + printable(alg) + "', expected sha256");
    }
    if (!MessageDigest.isEqual(Arrays.copyOfRange(h, OFF_CSUM, OFF_CSUM + 32), checksum(h))) {
      throw new Refused(which + " header: checksum mismatch");
    }
  }

  /** SHA-256 over the header and its JSON area with the 64-byte checksum field zeroed. */
  static byte[] checksum(byte[] header) {
    byte[] copy = header.clone();
    Arrays.fill(copy, OFF_CSUM, OFF_CSUM + CSUM_LEN, (byte) 0);
    return Digests.sha256(copy);
  }

  private static JsonNode json(byte[] header) throws Refused {
    int end = BINARY_HEADER;
    while (end < header.length && header[end] != 0) {
      end++;
    }
    if (end == header.length) {
      throw new Refused("JSON metadata: not NUL-terminated within its area");
    }
    JsonNode root;
    try {
      root =
          JSON.readTree(
              new String(header, BINARY_HEADER, end - BINARY_HEADER, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new Refused("JSON metadata: not valid JSON (" + firstLine(e.getMessage()) + ")");
    }
    if (root == null || !root.isObject()) {
      throw new Refused("JSON metadata: not an object");
    }
    return root;
  }

  private static Accepted metadata(JsonNode root, long hdrSize, long seqId) throws Refused {
    onlyFields(
        root, "metadata", Set.of("keyslots", "tokens", "segments", "digests", "config"), true);
    JsonNode config = object(root, "config", "metadata");
    onlyFields(
        config, "config", Set.of("json_size", "keyslots_size", "flags", "requirements"), false);
    if (config.has("flags")) {
      throw new Refused("config: persistent flags " + config.get("flags") + " are not accepted");
    }
    if (config.has("requirements")) {
      throw new Refused(
          "config: requirements "
              + config.get("requirements")
              + " (e.g. online reencryption) are not accepted");
    }
    if (number(config, "json_size", "config") != hdrSize - BINARY_HEADER) {
      throw new Refused(
          "config: json_size "
              + config.get("json_size")
              + ", expected "
              + (hdrSize - BINARY_HEADER));
    }
    long keyslotsSize = number(config, "keyslots_size", "config");
    if (keyslotsSize > MAX_KEYSLOTS_SIZE || keyslotsSize % 4096 != 0) {
      throw new Refused(
          "config: keyslots_size " + keyslotsSize + " is not a multiple of 4096 up to 128 MiB");
    }
    long keyslotsEnd = 2 * hdrSize + keyslotsSize;

    JsonNode tokens = object(root, "tokens", "metadata");
    if (tokens.size() != 0) {
      throw new Refused(
          "tokens: "
              + tokens.size()
              + " present, none expected ("
              + String.join(",", names(tokens))
              + ")");
    }

    JsonNode segments = object(root, "segments", "metadata");
    if (segments.size() != 1 || !segments.has("0")) {
      throw new Refused("segments: expected exactly one, \"0\"; found " + names(segments));
    }
    JsonNode seg = object(segments, "0", "segments");
    onlyFields(
        seg,
        "segment 0",
        Set.of(
            "type",
            "offset",
            "size",
            "iv_tweak",
            "encryption",
            "sector_size",
            "integrity",
            "flags"),
        false);
    if (seg.has("integrity")) {
      throw new Refused("segment 0: integrity protection (dm-integrity) is not accepted");
    }
    if (seg.has("flags")) {
      throw new Refused(
          "segment 0: flags "
              + seg.get("flags")
              + " (e.g. a reencryption segment) are not accepted");
    }
    text(seg, "type", "crypt", "segment 0");
    text(seg, "encryption", CIPHER, "segment 0");
    if (number(seg, "iv_tweak", "segment 0") != 0) {
      throw new Refused("segment 0: iv_tweak " + seg.get("iv_tweak") + ", expected 0");
    }
    long sectorSize = number(seg, "sector_size", "segment 0");
    if (sectorSize != 512 && sectorSize != 4096) {
      throw new Refused("segment 0: sector_size " + sectorSize + ", expected 512 or 4096");
    }
    long dataOffset = number(seg, "offset", "segment 0");
    if (dataOffset < keyslotsEnd || dataOffset % sectorSize != 0) {
      throw new Refused(
          "segment 0: data offset "
              + dataOffset
              + " overlaps the header and keyslot area (ends at "
              + keyslotsEnd
              + ") or is not sector-aligned");
    }
    JsonNode size = seg.get("size");
    if (!(size.isTextual() && size.asText().equals("dynamic"))) {
      long n = number(seg, "size", "segment 0");
      if (n <= 0 || n % sectorSize != 0) {
        throw new Refused(
            "segment 0: size " + n + " is not a positive multiple of the sector size");
      }
    }

    JsonNode keyslots = object(root, "keyslots", "metadata");
    if (keyslots.size() != 1) {
      throw new Refused(
          "keyslots: expected exactly one, found " + keyslots.size() + " " + names(keyslots));
    }
    String slotId = keyslots.fieldNames().next();
    JsonNode slot = object(keyslots, slotId, "keyslots");
    String where = "keyslot " + slotId;
    onlyFields(slot, where, Set.of("type", "key_size", "af", "area", "kdf"), false);
    text(slot, "type", "luks2", where);
    if (number(slot, "key_size", where) != KEY_BYTES) {
      throw new Refused(
          where + ": volume key of " + slot.get("key_size") + " bytes, expected " + KEY_BYTES);
    }
    JsonNode af = object(slot, "af", where);
    onlyFields(af, where + " af", Set.of("type", "stripes", "hash"), false);
    text(af, "type", "luks1", where + " af");
    if (number(af, "stripes", where + " af") != 4000) {
      throw new Refused(where + " af: stripes " + af.get("stripes") + ", expected 4000");
    }
    hash(af, where + " af");
    JsonNode area = object(slot, "area", where);
    onlyFields(
        area, where + " area", Set.of("type", "offset", "size", "encryption", "key_size"), false);
    text(area, "type", "raw", where + " area");
    text(area, "encryption", CIPHER, where + " area");
    if (number(area, "key_size", where + " area") != KEY_BYTES) {
      throw new Refused(
          where + " area: key of " + area.get("key_size") + " bytes, expected " + KEY_BYTES);
    }
    long areaOffset = number(area, "offset", where + " area");
    long areaSize = number(area, "size", where + " area");
    if (areaSize > MAX_AREA_SIZE) {
      throw new Refused(
          where + " area: " + areaSize + " bytes, more than a " + KEY_BYTES + "-byte key needs");
    }
    if (areaOffset < 2 * hdrSize || areaSize <= 0 || areaOffset + areaSize > keyslotsEnd) {
      throw new Refused(
          where
              + " area: ["
              + areaOffset
              + ", +"
              + areaSize
              + ") is outside the keyslot area ["
              + (2 * hdrSize)
              + ", "
              + keyslotsEnd
              + ")");
    }
    JsonNode kdf = object(slot, "kdf", where);
    String kdfType = kdf.path("type").asText("");
    switch (kdfType) {
      case "pbkdf2" -> {
        onlyFields(kdf, where + " kdf", Set.of("type", "hash", "iterations", "salt"), false);
        hash(kdf, where + " kdf");
        if (number(kdf, "iterations", where + " kdf") < 1000) {
          throw new Refused(
              where + " kdf: pbkdf2 iterations " + kdf.get("iterations") + " below 1000");
        }
      }
      case "argon2i", "argon2id" -> {
        onlyFields(kdf, where + " kdf", Set.of("type", "time", "memory", "cpus", "salt"), false);
        number(kdf, "time", where + " kdf");
        number(kdf, "memory", where + " kdf");
        number(kdf, "cpus", where + " kdf");
      }
      default ->
          throw new Refused(
              where + " kdf: type '" + printable(kdfType) + "' is not pbkdf2, argon2i or argon2id");
    }
    if (!kdf.path("salt").isTextual()) {
      throw new Refused(where + " kdf: no salt");
    }

    JsonNode digests = object(root, "digests", "metadata");
    if (digests.size() != 1) {
      throw new Refused("digests: expected exactly one, found " + digests.size());
    }
    String digestId = digests.fieldNames().next();
    JsonNode digest = object(digests, digestId, "digests");
    String dw = "digest " + digestId;
    onlyFields(
        digest,
        dw,
        Set.of("type", "keyslots", "segments", "hash", "iterations", "salt", "digest"),
        false);
    text(digest, "type", "pbkdf2", dw);
    hash(digest, dw);
    if (!isList(digest.get("keyslots"), slotId) || !isList(digest.get("segments"), "0")) {
      throw new Refused(
          dw
              + ": must cover exactly keyslot "
              + slotId
              + " and segment 0, covers keyslots "
              + digest.get("keyslots")
              + " segments "
              + digest.get("segments"));
    }
    return new Accepted(
        hdrSize, seqId, dataOffset, (int) sectorSize, areaOffset, areaSize, keyslotsEnd);
  }

  private static boolean isList(JsonNode n, String only) {
    return n != null
        && n.isArray()
        && n.size() == 1
        && n.get(0).isTextual()
        && n.get(0).asText().equals(only);
  }

  private static void hash(JsonNode n, String where) throws Refused {
    String h = n.path("hash").asText("");
    if (!Set.of("sha256", "sha512").contains(h)) {
      throw new Refused(where + ": hash '" + printable(h) + "' is not sha256 or sha512");
    }
  }

  private static void onlyFields(JsonNode n, String where, Set<String> allowed, boolean all)
      throws Refused {
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) {
        throw new Refused(where + ": unexpected field '" + printable(f) + "'");
      }
    }
    if (all) {
      for (String f : allowed) {
        if (!n.has(f)) {
          throw new Refused(where + ": missing '" + f + "'");
        }
      }
    }
  }

  private static JsonNode object(JsonNode parent, String field, String where) throws Refused {
    JsonNode n = parent.get(field);
    if (n == null || !n.isObject()) {
      throw new Refused(where + ": '" + printable(field) + "' missing or not an object");
    }
    return n;
  }

  private static void text(JsonNode n, String field, String expected, String where) throws Refused {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual() || !v.asText().equals(expected)) {
      throw new Refused(
          where
              + ": "
              + field
              + " "
              + (v == null ? "missing" : "'" + printable(v.asText()) + "'")
              + ", expected '"
              + expected
              + "'");
    }
  }

  /**
   * LUKS2 writes 64-bit values as decimal strings and small ones as JSON numbers; both are accepted
   * here.
   */
  private static long number(JsonNode n, String field, String where) throws Refused {
    JsonNode v = n.get(field);
    if (v != null && v.isIntegralNumber() && v.canConvertToLong() && v.asLong() >= 0) {
      return v.asLong();
    }
    if (v != null && v.isTextual() && v.asText().matches("[0-9]{1,18}")) {
      return Long.parseLong(v.asText());
    }
    throw new Refused(
        where
            + ": "
            + field
            + " "
            + (v == null ? "missing" : "'" + printable(v.toString()) + "'")
            + " is not a non-negative integer");
  }

  private static java.util.List<String> names(JsonNode n) {
    java.util.List<String> out = new java.util.ArrayList<>();
    n.fieldNames().forEachRemaining(f -> out.add(printable(f)));
    return out;
  }

  static long u64(byte[] b, int off) {
    return ByteBuffer.wrap(b, off, 8).getLong();
  }

  private static String cString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.US_ASCII);
  }

  /** Host-written text in a one-line message: printable ASCII only, at most 64 characters. */
  private static String printable(String s) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length() && out.length() < 64; i++) {
      char c = s.charAt(i);
      out.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return s.length() > 64 ? out + "…" : out.toString();
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return printable(nl < 0 ? s : s.substring(0, nl));
  }

  private static byte[] readUpTo(SeekableByteChannel ch, int n) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(n);
    while (buf.hasRemaining()) {
      if (ch.read(buf) < 0) {
        break;
      }
    }
    return Arrays.copyOf(buf.array(), buf.position());
  }
}
