package org.teekms.attest.eventlog;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A TD's firmware event log as the kernel exposes it: the ACPI CCEL table ({@code
 * /sys/firmware/acpi/tables/CCEL}, which says the log is TDX's and how long its area is) and the
 * log area itself ({@code /sys/firmware/acpi/tables/data/CCEL}) in the TCG PC Client crypto-agile
 * format: one legacy SHA-1-format {@code TCG_PCClientPCREvent} carrying the Spec ID event (the
 * digest algorithms and their sizes), then {@code TCG_PCR_EVENT2} records, ended by a record whose
 * index is {@code 0xFFFFFFFF} or by zero padding.
 *
 * <p>The index of a CCEL record is the TDX measurement register: 0 = MRTD, 1..4 = RTMR0..3. Records
 * are converted to {@link EventLogEntry} with {@code imr = index - 1} and their SHA-384 digest, as
 * dstack converts them; MRTD records (the TDX module measured those, not the log) and {@code
 * EV_NO_ACTION} records (never extended) are left out, so the result replays with {@link
 * RtmrReplay}. Strict and bounded: anything truncated, oversized, unknown or inconsistent is an
 * {@link EventLogException} saying where.
 */
public final class CcelEventLog {
  /** The log area tee-kms reads at most (real TDVF areas are 64-256 KiB). */
  public static final int MAX_LOG_AREA_BYTES = 4 * 1024 * 1024;

  public static final int ACPI_TABLE_BYTES = 56;

  /** ACPI CCEL "CC Type" of Intel TDX. */
  public static final int CC_TYPE_TDX = 2;

  public static final long EV_NO_ACTION = 3;
  public static final int TPM_ALG_SHA384 = 0x000C;

  private static final byte[] SPEC_ID_SIGNATURE =
      "Spec ID Event03\0".getBytes(StandardCharsets.US_ASCII);
  private static final int MAX_ALGORITHMS = 8;
  private static final int MAX_DIGEST_BYTES = 64;
  private static final long END_OF_LOG = 0xFFFF_FFFFL;

  private CcelEventLog() {}

  /** The fields of the ACPI CCEL table tee-kms uses. */
  public record Table(
      int ccType, int ccSubtype, long logAreaMinimumLength, long logAreaStartAddress) {}

  /**
   * Checks the ACPI table: signature, length, checksum, TDX as the CC type, a plausible log area
   * length.
   */
  public static Table parseTable(byte[] table) throws EventLogException {
    if (table.length != ACPI_TABLE_BYTES) {
      throw new EventLogException(
          "ACPI CCEL table is " + table.length + " bytes, expected " + ACPI_TABLE_BYTES);
    }
    ByteBuffer b = ByteBuffer.wrap(table).order(ByteOrder.LITTLE_ENDIAN);
    if (!Arrays.equals(Arrays.copyOf(table, 4), "CCEL".getBytes(StandardCharsets.US_ASCII))) {
      throw new EventLogException("ACPI table signature is not CCEL");
    }
    long length = Integer.toUnsignedLong(b.getInt(4));
    if (length != ACPI_TABLE_BYTES) {
      throw new EventLogException(
          "ACPI CCEL table header states length " + length + ", expected " + ACPI_TABLE_BYTES);
    }
    int sum = 0;
    for (byte x : table) {
      sum += x & 0xff;
    }
    if ((sum & 0xff) != 0) {
      throw new EventLogException("ACPI CCEL table checksum does not add up to zero");
    }
    int ccType = table[36] & 0xff;
    if (ccType != CC_TYPE_TDX) {
      throw new EventLogException(
          "ACPI CCEL table CC type is " + ccType + ", expected " + CC_TYPE_TDX + " (Intel TDX)");
    }
    long laml = b.getLong(40);
    if (laml <= 0 || laml > MAX_LOG_AREA_BYTES) {
      throw new EventLogException(
          "CCEL log area length "
              + Long.toUnsignedString(laml)
              + " outside 1.."
              + MAX_LOG_AREA_BYTES);
    }
    return new Table(ccType, table[37] & 0xff, laml, b.getLong(48));
  }

  /**
   * The table checked with {@link #parseTable}, then the log area (at most the table's length of
   * it) parsed.
   */
  public static List<EventLogEntry> parse(byte[] table, byte[] logArea) throws EventLogException {
    Table t = parseTable(table);
    return parse(
        logArea.length > t.logAreaMinimumLength()
            ? Arrays.copyOf(logArea, (int) t.logAreaMinimumLength())
            : logArea);
  }

  /** Parses a crypto-agile log area into RTMR0-3 entries (see the class comment). */
  public static List<EventLogEntry> parse(byte[] logArea) throws EventLogException {
    if (logArea.length > MAX_LOG_AREA_BYTES) {
      throw new EventLogException(
          "CCEL log area is " + logArea.length + " bytes, limit " + MAX_LOG_AREA_BYTES);
    }
    Reader r = new Reader(logArea);
    Map<Integer, Integer> sizes = specIdEvent(r);
    List<EventLogEntry> entries = new ArrayList<>();
    int record = 1;
    while (r.remaining() > 0) {
      int at = r.pos;
      if (r.remaining() < 4 || r.allZeroFromHere()) {
        if (!r.allZeroFromHere()) {
          throw new EventLogException("CCEL record " + record + " at offset " + at + ": truncated");
        }
        break;
      }
      long index = r.u32("record " + record + " index");
      if (index == END_OF_LOG) {
        break;
      }
      String where = "CCEL record " + record + " at offset " + at + ": ";
      if (index > 4) {
        throw new EventLogException(
            where + "measurement register index " + index + " (TDX has 0..4)");
      }
      long type = r.u32(where + "event type");
      long count = r.u32(where + "digest count");
      if (count < 1 || count > sizes.size()) {
        throw new EventLogException(
            where + count + " digests, the Spec ID event declares " + sizes.size());
      }
      byte[] sha384 = null;
      for (long i = 0; i < count; i++) {
        int alg = r.u16(where + "digest algorithm");
        Integer size = sizes.get(alg);
        if (size == null) {
          throw new EventLogException(
              where
                  + "digest algorithm 0x"
                  + Integer.toHexString(alg)
                  + " not declared in the Spec ID event");
        }
        byte[] digest = r.bytes(size, where + "digest");
        if (alg == TPM_ALG_SHA384) {
          if (sha384 != null) {
            throw new EventLogException(where + "two SHA-384 digests");
          }
          sha384 = digest;
        }
      }
      long size = r.u32(where + "event size");
      if (size > DstackEventLogCodec.MAX_PAYLOAD_BYTES) {
        throw new EventLogException(
            where
                + "event data of "
                + size
                + " bytes, limit "
                + DstackEventLogCodec.MAX_PAYLOAD_BYTES);
      }
      byte[] data = r.bytes((int) size, where + "event data");
      if (type != EV_NO_ACTION && index > 0) {
        if (sha384 == null) {
          throw new EventLogException(where + "no SHA-384 digest (TDX RTMRs are SHA-384)");
        }
        if (entries.size() == DstackEventLogCodec.MAX_EVENTS) {
          throw new EventLogException(
              "CCEL has more than " + DstackEventLogCodec.MAX_EVENTS + " measured events");
        }
        entries.add(new EventLogEntry((int) index - 1, type, sha384, "", data));
      }
      record++;
    }
    return List.copyOf(entries);
  }

  /** The leading legacy-format record; returns the declared digest sizes by algorithm id. */
  private static Map<Integer, Integer> specIdEvent(Reader r) throws EventLogException {
    String where = "CCEL Spec ID event: ";
    r.u32(where + "index"); // TDVF writes 1 (RTMR0), the TCG spec 0: never extended either way
    long type = r.u32(where + "type");
    if (type != EV_NO_ACTION) {
      throw new EventLogException(
          where
              + "first record must be EV_NO_ACTION (got type "
              + type
              + "): not a crypto-agile log");
    }
    r.bytes(20, where + "SHA-1 digest");
    long size = r.u32(where + "size");
    if (size > 4096) {
      throw new EventLogException(where + size + " bytes, limit 4096");
    }
    Reader e = new Reader(r.bytes((int) size, where + "data"));
    if (!Arrays.equals(e.bytes(16, where + "signature"), SPEC_ID_SIGNATURE)) {
      throw new EventLogException(where + "signature is not 'Spec ID Event03'");
    }
    e.u32(where + "platform class");
    e.bytes(3, where + "spec version");
    e.bytes(1, where + "uintn size");
    long n = e.u32(where + "algorithm count");
    if (n < 1 || n > MAX_ALGORITHMS) {
      throw new EventLogException(where + n + " digest algorithms, expected 1.." + MAX_ALGORITHMS);
    }
    Map<Integer, Integer> sizes = new LinkedHashMap<>();
    for (long i = 0; i < n; i++) {
      int alg = e.u16(where + "algorithm id");
      int digestSize = e.u16(where + "digest size");
      if (digestSize < 1 || digestSize > MAX_DIGEST_BYTES || sizes.put(alg, digestSize) != null) {
        throw new EventLogException(
            where
                + "algorithm 0x"
                + Integer.toHexString(alg)
                + " duplicated or with digest size "
                + digestSize);
      }
    }
    if (!Integer.valueOf(48).equals(sizes.get(TPM_ALG_SHA384))) {
      throw new EventLogException(
          where + "SHA-384 (48 bytes) is not among the log's digest algorithms");
    }
    int vendor = e.bytes(1, where + "vendor info size")[0] & 0xff;
    e.bytes(vendor, where + "vendor info");
    if (e.remaining() != 0) {
      throw new EventLogException(where + e.remaining() + " trailing bytes");
    }
    return sizes;
  }

  private static final class Reader {
    private final byte[] b;
    private int pos;

    Reader(byte[] b) {
      this.b = b;
    }

    int remaining() {
      return b.length - pos;
    }

    boolean allZeroFromHere() {
      for (int i = pos; i < b.length; i++) {
        if (b[i] != 0) {
          return false;
        }
      }
      return true;
    }

    byte[] bytes(int n, String what) throws EventLogException {
      if (n < 0 || n > remaining()) {
        throw new EventLogException(
            what
                + ": truncated ("
                + n
                + " bytes needed at offset "
                + pos
                + ", "
                + remaining()
                + " left)");
      }
      byte[] out = Arrays.copyOfRange(b, pos, pos + n);
      pos += n;
      return out;
    }

    long u32(String what) throws EventLogException {
      return Integer.toUnsignedLong(
          ByteBuffer.wrap(bytes(4, what)).order(ByteOrder.LITTLE_ENDIAN).getInt());
    }

    int u16(String what) throws EventLogException {
      return Short.toUnsignedInt(
          ByteBuffer.wrap(bytes(2, what)).order(ByteOrder.LITTLE_ENDIAN).getShort());
    }
  }
}
