package org.teekms.attest.tdx;

import org.teekms.crypto.Bytes;

/**
 * Bounds-checked little-endian reader over a byte array. Every read that would pass the limit
 * throws a {@link QuoteParseException} naming the field, so no length field can cause an
 * out-of-bounds access or a large allocation: bytes are only copied after the length has been
 * checked against the bytes actually present.
 */
final class ByteReader {
  private final byte[] buf;
  private int pos;
  private final int limit;

  ByteReader(byte[] buf, int offset, int limit) {
    this.buf = buf;
    this.pos = offset;
    this.limit = limit;
  }

  int position() {
    return pos;
  }

  int remaining() {
    return limit - pos;
  }

  private void need(long n, String field) throws QuoteParseException {
    if (n < 0 || n > limit - pos) {
      throw new QuoteParseException(
          "truncated quote: "
              + field
              + " needs "
              + n
              + " bytes at offset "
              + pos
              + " but only "
              + (limit - pos)
              + " remain");
    }
  }

  int u8(String field) throws QuoteParseException {
    need(1, field);
    return buf[pos++] & 0xff;
  }

  int u16(String field) throws QuoteParseException {
    need(2, field);
    int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8;
    pos += 2;
    return v;
  }

  /** An unsigned 32-bit value, as a long so that huge lengths cannot wrap to negative ints. */
  long u32(String field) throws QuoteParseException {
    need(4, field);
    long v =
        (buf[pos] & 0xffL)
            | (buf[pos + 1] & 0xffL) << 8
            | (buf[pos + 2] & 0xffL) << 16
            | (buf[pos + 3] & 0xffL) << 24;
    pos += 4;
    return v;
  }

  Bytes bytes(long n, String field) throws QuoteParseException {
    need(n, field);
    Bytes b = Bytes.copyOf(buf, pos, (int) n);
    pos += (int) n;
    return b;
  }

  byte[] rawBytes(long n, String field) throws QuoteParseException {
    need(n, field);
    byte[] b = java.util.Arrays.copyOfRange(buf, pos, pos + (int) n);
    pos += (int) n;
    return b;
  }

  void skip(long n, String field) throws QuoteParseException {
    need(n, field);
    pos += (int) n;
  }

  /** A reader over the next {@code n} bytes; this reader moves past them. */
  ByteReader slice(long n, String field) throws QuoteParseException {
    need(n, field);
    ByteReader r = new ByteReader(buf, pos, pos + (int) n);
    pos += (int) n;
    return r;
  }
}
