package org.teekms.attest.osimage;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The TD HOB (hand-off block list) OVMF measures as the first RTMR0 event, rebuilt from the memory
 * size and the image's compact witness of the TDVF sections QEMU accepts up front (TD_HOB and
 * TEMP_MEM), as dstack-mr does.
 *
 * <p>Witness (dstack {@code TdHobWitnessV1}): unsigned LEB128 integers {@code base_page,
 * td_hob_page - base_page, n}, then {@code n} pairs {@code start_page - base_page, page_count}
 * (pages of 4 KiB), nothing after.
 *
 * <p>HOB list: a 56-byte PHIT header (type 1, length 56, version 9, all pointers 0 except
 * EfiEndOfHobList at offset 48 = TD HOB address + list length + 8), then one 48-byte resource
 * descriptor (type 3, length 48, owner zero, resource type, attribute 7, start, length) per range
 * of {@code [0, memory)} as split by the accepted sections: accepted ranges type 0 (system memory),
 * the others type 7 (unaccepted). The last range is special: at or above 2.75 GiB of memory it is
 * cut at 2 GiB and the rest placed at 4 GiB (QEMU's below/above-4G split); below, it is written as
 * is. The digest is SHA-384 of the list.
 */
public final class TdHob {
  static final long PAGE = 0x1000;

  /**
   * dstack-mr {@code TDX_KERNEL_HASH_STABLE_MIN_MEMORY}: from here QEMU splits guest RAM at 2 GiB /
   * 4 GiB.
   */
  public static final long HIGH_MEMORY_THRESHOLD = 0xB000_0000L;

  private static final long TWO_GIB = 0x8000_0000L;
  private static final long FOUR_GIB = 0x1_0000_0000L;

  /** Enough for every real TDVF (dstack 0.6 has 2); bounds the work on hostile witnesses. */
  public static final int MAX_RANGES = 64;

  private TdHob() {}

  /** A decoded witness: the TD HOB page and the accepted ranges (start page, page count). */
  public record Witness(long tdHobPage, List<long[]> ranges) {
    public Witness {
      ranges = List.copyOf(ranges);
    }

    /** The LEB128 encoding (ranges sorted by start; base page = the lowest start). */
    public byte[] encode() {
      List<long[]> sorted = new ArrayList<>(ranges);
      sorted.sort(Comparator.comparingLong(r -> r[0]));
      long base = sorted.get(0)[0];
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      leb(out, base);
      leb(out, tdHobPage - base);
      leb(out, sorted.size());
      for (long[] r : sorted) {
        leb(out, r[0] - base);
        leb(out, r[1]);
      }
      return out.toByteArray();
    }

    private static void leb(ByteArrayOutputStream out, long v) {
      do {
        int b = (int) (v & 0x7f);
        v >>>= 7;
        out.write(v != 0 ? b | 0x80 : b);
      } while (v != 0);
    }
  }

  /**
   * Decodes a witness; anything truncated, trailing, overflowing or over {@link #MAX_RANGES} is
   * refused.
   */
  public static Witness decode(byte[] witness) throws OsImageException {
    int[] pos = {0};
    long base = leb(witness, pos);
    long hobDelta = leb(witness, pos);
    long n = leb(witness, pos);
    if (n > MAX_RANGES) {
      throw invalid(
          "TD HOB witness has " + Long.toUnsignedString(n) + " ranges, limit " + MAX_RANGES);
    }
    long hobPage = addPages(base, hobDelta);
    List<long[]> ranges = new ArrayList<>();
    for (long i = 0; i < n; i++) {
      long start = addPages(base, leb(witness, pos));
      long count = leb(witness, pos);
      if (Long.compareUnsigned(count, Long.MAX_VALUE / PAGE - start) > 0) {
        throw invalid("TD HOB witness range overflows the address space");
      }
      ranges.add(new long[] {start, count});
    }
    if (pos[0] != witness.length) {
      throw invalid("TD HOB witness has trailing bytes");
    }
    return new Witness(hobPage, ranges);
  }

  /** The TD HOB list for this witness and memory size. */
  public static byte[] build(byte[] witness, long memorySize) throws OsImageException {
    if (memorySize <= 0) {
      throw new OsImageException(
          OsImageFailure.MEMORY_SIZE_UNSUPPORTED, "memory_size must be positive");
    }
    Witness w = decode(witness);
    // Ranges of [0, memory): {accepted, start, end}, kept sorted by start (dstack-mr
    // MemoryAcceptor).
    List<long[]> ranges = new ArrayList<>();
    ranges.add(new long[] {0, 0, memorySize});
    for (long[] r : w.ranges()) {
      accept(ranges, r[0] * PAGE, r[0] * PAGE + r[1] * PAGE);
    }
    ByteBuffer hob =
        ByteBuffer.allocate(56 + 48 * (ranges.size() + 1)).order(ByteOrder.LITTLE_ENDIAN);
    hob.putShort((short) 1).putShort((short) 56).putInt(0).putInt(9).putInt(0);
    hob.put(new byte[40]);
    long[] last = ranges.remove(ranges.size() - 1);
    for (long[] r : ranges) {
      if (r[2] < r[1]) {
        throw invalid("TD HOB witness yields a range that ends before it starts");
      }
      resource(hob, r[0] == 1 ? 0x00 : 0x07, r[1], r[2] - r[1]);
    }
    if (last[2] < last[1]) {
      throw invalid("TD HOB witness yields a last range that ends before it starts");
    }
    if (memorySize >= HIGH_MEMORY_THRESHOLD) {
      if (last[1] < TWO_GIB) {
        resource(hob, 0x07, last[1], TWO_GIB - last[1]);
      }
      if (last[2] > TWO_GIB) {
        resource(hob, 0x07, FOUR_GIB, last[2] - TWO_GIB);
      }
    } else {
      resource(hob, 0x07, last[1], last[2] - last[1]);
    }
    int length = hob.position();
    hob.putLong(48, w.tdHobPage() * PAGE + length + 8);
    byte[] out = new byte[length];
    hob.get(0, out);
    return out;
  }

  /** SHA-384 of {@link #build}: the first RTMR0 event's digest. */
  public static byte[] digest(byte[] witness, long memorySize) throws OsImageException {
    return RtmrLog.sha384(build(witness, memorySize));
  }

  private static void accept(List<long[]> ranges, long start, long end) {
    if (start >= end) {
      return;
    }
    List<long[]> next = new ArrayList<>();
    for (long[] r : ranges) {
      if (r[0] == 1 || r[2] <= start || r[1] >= end) {
        next.add(r);
      } else {
        if (r[1] < start) {
          next.add(new long[] {0, r[1], start});
        }
        if (r[2] > end) {
          next.add(new long[] {0, end, r[2]});
        }
      }
    }
    next.add(new long[] {1, start, end});
    next.sort(Comparator.comparingLong(r -> r[1]));
    ranges.clear();
    ranges.addAll(next);
  }

  private static void resource(ByteBuffer hob, int type, long start, long length) {
    hob.putShort((short) 3).putShort((short) 48).putInt(0).put(new byte[16]);
    hob.put((byte) type).put(new byte[3]).putInt(7).putLong(start).putLong(length);
  }

  private static long addPages(long base, long delta) throws OsImageException {
    long page = base + delta;
    if (base < 0 || delta < 0 || page < 0 || page > Long.MAX_VALUE / PAGE) {
      throw invalid("TD HOB witness address overflows");
    }
    return page;
  }

  private static long leb(byte[] in, int[] pos) throws OsImageException {
    long v = 0;
    int shift = 0;
    while (true) {
      if (pos[0] >= in.length) {
        throw invalid("TD HOB witness is truncated");
      }
      int b = in[pos[0]++] & 0xff;
      v |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
      shift += 7;
      if (shift >= 64) {
        throw invalid("TD HOB witness integer is too large");
      }
    }
  }

  private static OsImageException invalid(String message) {
    return new OsImageException(OsImageFailure.MEASUREMENT_DOCUMENT_INVALID, message);
  }
}
