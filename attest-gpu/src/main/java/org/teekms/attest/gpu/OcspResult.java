package org.teekms.attest.gpu;

import java.util.ArrayList;
import java.util.List;

/**
 * Revocation outcome for the certificates checked, with one entry per certificate.
 *
 * @param mode the mode the checker ran in
 * @param certificates per certificate: subject, serial, status and a detail saying why
 */
public record OcspResult(OcspChecker.Mode mode, List<CertStatus> certificates) {

  public enum Status {
    /** A fresh, correctly signed response says "good". */
    GOOD,
    REVOKED,
    UNKNOWN,
    /**
     * The responder could not be reached or answered tryLater/internalError. Accepted only in GRACE
     * mode.
     */
    UNAVAILABLE,
    /**
     * A response arrived but failed a check: signature, signer authorization, nonce, cert id,
     * staleness.
     */
    INVALID_RESPONSE,
    /** Revocation checking is disabled. */
    SKIPPED
  }

  public record CertStatus(String subject, String serialHex, Status status, String detail) {}

  public OcspResult {
    certificates = List.copyOf(certificates);
  }

  public static OcspResult skipped() {
    return new OcspResult(OcspChecker.Mode.DISABLED, List.of());
  }

  /** Whether the checked certificates are acceptable under {@link #mode()}. */
  public boolean ok() {
    for (CertStatus c : certificates) {
      boolean fine =
          c.status() == Status.GOOD
              || c.status() == Status.SKIPPED
              || (c.status() == Status.UNAVAILABLE && mode == OcspChecker.Mode.GRACE);
      if (!fine) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether every certificate was positively confirmed good (what {@link
   * GpuEvidencePolicy#ocspRequired()} asks for).
   */
  public boolean allGood() {
    return mode != OcspChecker.Mode.DISABLED
        && !certificates.isEmpty()
        && certificates.stream().allMatch(c -> c.status() == Status.GOOD);
  }

  /** A one-word summary: good, skipped, or the worst status seen. */
  public String summary() {
    if (mode == OcspChecker.Mode.DISABLED || certificates.isEmpty()) {
      return "skipped";
    }
    Status worst = Status.GOOD;
    for (CertStatus c : certificates) {
      if (c.status().ordinal() > worst.ordinal() && c.status() != Status.SKIPPED) {
        worst = c.status();
      }
    }
    return worst.name().toLowerCase(java.util.Locale.ROOT);
  }

  /** The first certificate that is not acceptable, for error messages. */
  public String firstProblem() {
    for (CertStatus c : certificates) {
      if (c.status() != Status.GOOD && c.status() != Status.SKIPPED) {
        return c.subject() + " (serial " + c.serialHex() + "): " + c.status() + " " + c.detail();
      }
    }
    return "none";
  }

  OcspResult plus(OcspResult other) {
    List<CertStatus> all = new ArrayList<>(certificates);
    all.addAll(other.certificates);
    return new OcspResult(mode, all);
  }
}
