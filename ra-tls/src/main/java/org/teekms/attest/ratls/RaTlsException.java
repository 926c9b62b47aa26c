package org.teekms.attest.ratls;

import java.security.cert.CertificateException;

/**
 * Why an RA-TLS certificate was not accepted. A {@link CertificateException} so it can leave a
 * trust manager unchanged; {@link #reason()} is the machine-readable cause and the message the
 * precise detail.
 */
public final class RaTlsException extends CertificateException {
  private static final long serialVersionUID = 1L;

  /** The stage that rejected the certificate. */
  public enum Reason {
    /**
     * Not a well-formed RA-TLS certificate (encoding, missing or duplicated extension, unsupported
     * key).
     */
    MALFORMED_CERTIFICATE,
    /** An extension or the certificate is larger than its limit. */
    OVERSIZED_EXTENSION,
    /** The self-signature does not verify. */
    CERTIFICATE_SIGNATURE,
    /**
     * Outside the certificate's validity period: at verification, or at a later call on a
     * connection whose peer certificate has expired since the handshake (the peer must re-connect
     * with a fresh certificate).
     */
    CERTIFICATE_EXPIRED,
    /**
     * Before the certificate's notBefore by more than the verifier's clock-skew allowance: the
     * peer's clock is ahead of the verifier's, or the verifier's is behind. Not an expiry: waiting
     * (or fixing the clock that is wrong) makes the same certificate valid.
     */
    CERTIFICATE_NOT_YET_VALID,
    /**
     * The certificate's validity period (notAfter − notBefore) is longer than the verifier's cap.
     */
    CERTIFICATE_LIFETIME_EXCEEDED,
    /** REPORTDATA does not bind this certificate's public key. */
    KEY_NOT_BOUND,
    /** The DCAP verification of the quote failed (signature, chain, collateral, TCB). */
    QUOTE_INVALID,
    /**
     * The quote's collateral could not be obtained (PCS/PCCS unreachable or answering errors):
     * nothing was decided about the quote, the verifier's side is down; retrying later may succeed.
     */
    COLLATERAL_UNAVAILABLE,
    /** The event log does not replay to the quote or breaks the boot-sequence rules. */
    EVENT_LOG_INVALID,
    /** The GPU evidence is malformed, does not verify, is not bound to this key or not measured. */
    GPU_EVIDENCE_INVALID,
    /** Verified, but the quote policy or the application's policy refused it. */
    POLICY_REJECTED
  }

  private final Reason reason;
  private final String detail;

  public RaTlsException(Reason reason, String detail) {
    super(reason + ": " + detail);
    this.reason = reason;
    this.detail = detail;
  }

  public RaTlsException(Reason reason, String detail, Throwable cause) {
    super(reason + ": " + detail, cause);
    this.reason = reason;
    this.detail = detail;
  }

  public Reason reason() {
    return reason;
  }

  /** The message without the reason prefix. */
  public String detail() {
    return detail;
  }
}
