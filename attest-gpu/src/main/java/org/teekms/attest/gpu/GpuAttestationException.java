package org.teekms.attest.gpu;

/**
 * GPU evidence was malformed or did not verify. {@link #reason()} says which check failed; the
 * message says exactly why (offsets, indexes, subjects), so a caller can deny with a precise reason
 * and tests can assert on it.
 */
public final class GpuAttestationException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Which check failed. */
  public enum Reason {
    /** The report bytes do not follow the SPDM / Hopper layout (lengths, codes, TLV framing). */
    MALFORMED_REPORT,
    /** The {@link GpuEvidence} container is malformed or over its size limits. */
    MALFORMED_EVIDENCE,
    /** The request nonce in the report is not the nonce the verifier expects. */
    NONCE_MISMATCH,
    /** The report signature does not verify with the attestation key certificate. */
    SIGNATURE_INVALID,
    /**
     * The certificate chain is malformed, out of order, not valid at the verification time or not
     * anchored.
     */
    CERT_CHAIN_INVALID,
    /** The FWID in the report differs from the FWID in the attestation key certificate. */
    FWID_MISMATCH,
    /** The GPU architecture is not supported, or differs from the one the evidence declares. */
    UNSUPPORTED_ARCHITECTURE,
    /**
     * A reference integrity manifest is malformed, its signature or signer chain does not verify,
     * or none fits.
     */
    RIM_INVALID,
    /** Runtime measurements differ from the reference values. */
    MEASUREMENT_MISMATCH,
    /**
     * Revocation checking failed (revoked, unknown, unreachable responder in fail-closed mode, bad
     * response).
     */
    OCSP_FAILED,
    /**
     * The evidence is not the one the CVM measured into RTMR3 (relayed from elsewhere, or swapped
     * after boot).
     */
    NOT_MEASURED
  }

  private final Reason reason;
  private final String detail;

  public GpuAttestationException(Reason reason, String detail) {
    super(reason + ": " + detail);
    this.reason = reason;
    this.detail = detail;
  }

  public GpuAttestationException(Reason reason, String detail, Throwable cause) {
    super(reason + ": " + detail, cause);
    this.reason = reason;
    this.detail = detail;
  }

  /** The message without the reason prefix. */
  public String detail() {
    return detail;
  }

  public Reason reason() {
    return reason;
  }
}
