package org.teekms.attest.tdx;

/** The TEE that produced a quote (header field {@code tee_type}). */
public enum TeeType {
  SGX(0x00000000),
  TDX(0x00000081);

  private final long code;

  TeeType(long code) {
    this.code = code;
  }

  public long code() {
    return code;
  }

  static TeeType fromCode(long code) throws QuoteParseException {
    for (TeeType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    throw new QuoteParseException("unsupported tee_type 0x" + Long.toHexString(code));
  }
}
