package org.teekms.attest.tdx;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.teekms.crypto.Bytes;

/**
 * The OS identity the TDX module measured: {@code mrSystem = SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2)}
 * over the quote's raw 48-byte registers (firmware, TD HOB/ACPI, kernel, command line and initrd).
 * Unlike the OS image hash in RTMR3, which the guest writes itself, these registers are extended
 * before the guest's own code runs, so a value computed here from a verified quote is
 * hardware-derived. Registered per OS image on chain as a golden measurement (docs/governance.md,
 * docs/security.md).
 */
public final class MrSystem {
  public static final int REGISTER_BYTES = 48;

  private MrSystem() {}

  /** mrSystem of a verified TD report. */
  public static Bytes of(TdReport td) {
    return of(td.mrTd(), td.rtmr(0), td.rtmr(1), td.rtmr(2));
  }

  /** mrSystem of four 48-byte registers. */
  public static Bytes of(Bytes mrTd, Bytes rtmr0, Bytes rtmr1, Bytes rtmr2) {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (Bytes r : new Bytes[] {mrTd, rtmr0, rtmr1, rtmr2}) {
      if (r.length() != REGISTER_BYTES) {
        throw new IllegalArgumentException(
            "TD measurement registers are 48 bytes, got " + r.length());
      }
      sha256.update(r.toByteArray());
    }
    return Bytes.copyOf(sha256.digest());
  }

  /**
   * "MRTD 1a2b3c4d…, RTMR0 …, RTMR1 …, RTMR2 …": the registers' first 8 hex digits, for deny
   * messages.
   */
  public static String describe(TdReport td) {
    return "MRTD "
        + prefix(td.mrTd())
        + ", RTMR0 "
        + prefix(td.rtmr(0))
        + ", RTMR1 "
        + prefix(td.rtmr(1))
        + ", RTMR2 "
        + prefix(td.rtmr(2));
  }

  static String prefix(Bytes b) {
    return b.hex().substring(0, 8) + "…";
  }
}
