package org.teekms.kms.admission;

import java.util.List;
import org.teekms.attest.tdx.TdAttributes;
import org.teekms.attest.tdx.TdReport;
import org.teekms.crypto.Bytes;

/** TD reports for peers built by tests (the real ones come from verified quotes). */
public final class TestTd {
  private TestTd() {}

  /**
   * A TDX 1.0 report with SEPT_VE_DISABLE set (what the quote policy requires) and DEBUG as given.
   */
  public static TdReport report(boolean debug) {
    byte[] attributes = new byte[8];
    attributes[0] = (byte) (debug ? 1 : 0);
    attributes[3] = 0x10; // bit 28: SEPT_VE_DISABLE
    return withAttributes(attributes);
  }

  /** A TDX 1.0 report with these TD_ATTRIBUTES (8 bytes, little-endian). */
  public static TdReport withAttributes(byte[] attributes) {
    return of(attributes, new byte[48]);
  }

  /** An accepted TDX 1.0 report launched with this MRCONFIGID (48 bytes). */
  public static TdReport withMrConfigId(byte[] mrConfigId) {
    byte[] attributes = new byte[8];
    attributes[3] = 0x10; // bit 28: SEPT_VE_DISABLE
    return of(attributes, mrConfigId);
  }

  private static TdReport of(byte[] attributes, byte[] mrConfigId) {
    Bytes z48 = Bytes.copyOf(new byte[48]);
    return new TdReport(
        Bytes.copyOf(new byte[16]),
        z48,
        z48,
        Bytes.copyOf(new byte[8]),
        new TdAttributes(Bytes.copyOf(attributes)),
        Bytes.copyOf(new byte[8]),
        z48,
        Bytes.copyOf(mrConfigId),
        z48,
        z48,
        List.of(z48, z48, z48, z48),
        Bytes.copyOf(new byte[64]),
        null,
        null);
  }
}
