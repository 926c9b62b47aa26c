package org.teekms.attest.tdx;

import org.teekms.crypto.Bytes;

/**
 * TD ATTRIBUTES (8 bytes, a little-endian 64-bit field) with the bits the TDX module defines
 * decoded. Bit 0 (DEBUG) means the host can read and change the TD's memory: such a TD proves
 * nothing about its code. Bit 29 (MIGRATABLE) means the TD's memory and state may be exported to
 * another platform through a migration TD; dcap-qvl treats it as a reserved bit that must be zero,
 * and {@link QuotePolicy} refuses it (docs/tdx-quote-verification.md).
 */
public record TdAttributes(Bytes raw) {
  private static final long DEBUG = 1L;
  private static final long SEPT_VE_DISABLE = 1L << 28;
  private static final long MIGRATABLE = 1L << 29;
  private static final long PKS = 1L << 30;
  private static final long KL = 1L << 31;
  private static final long PERFMON = 1L << 63;

  /** Bits 1..27 and 32..62 are reserved and must be zero. */
  private static final long RESERVED = 0x0FFF_FFFEL | 0x7FFF_FFFF_0000_0000L;

  public long value() {
    long v = 0;
    for (int i = 7; i >= 0; i--) {
      v = v << 8 | raw.get(i);
    }
    return v;
  }

  public boolean debug() {
    return (value() & DEBUG) != 0;
  }

  public boolean septVeDisable() {
    return (value() & SEPT_VE_DISABLE) != 0;
  }

  public boolean migratable() {
    return (value() & MIGRATABLE) != 0;
  }

  public boolean pks() {
    return (value() & PKS) != 0;
  }

  public boolean keyLocker() {
    return (value() & KL) != 0;
  }

  public boolean perfmon() {
    return (value() & PERFMON) != 0;
  }

  public boolean reservedBitsSet() {
    return (value() & RESERVED) != 0;
  }
}
