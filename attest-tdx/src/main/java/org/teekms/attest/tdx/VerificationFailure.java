package org.teekms.attest.tdx;

/** Why a quote did not verify. The result's error message adds the details. */
public enum VerificationFailure {
  /** The quote bytes are not a well-formed, supported DCAP quote. */
  MALFORMED_QUOTE,
  /**
   * The header's QE vendor id is not Intel's (939A7233F79C4CA9940A0DB3957F0607), as Intel's QVL and
   * dcap-qvl require.
   */
  UNSUPPORTED_QE_VENDOR,
  /** Collateral could not be obtained or is malformed. */
  COLLATERAL_UNAVAILABLE,
  /**
   * A collateral signature (TCB info, QE identity, CRL) or issuer chain does not verify to the
   * trust anchor.
   */
  COLLATERAL_INVALID,
  /** Collateral or one of its certificates is expired or not yet valid at the verification time. */
  COLLATERAL_EXPIRED,
  /** The collateral is for another platform or TEE (FMSPC, PCE-ID, TCB info id, QE identity id). */
  COLLATERAL_MISMATCH,
  /**
   * The PCK certificate chain is malformed, does not verify to the trust anchor, or is not valid at
   * the time.
   */
  PCK_CHAIN_INVALID,
  /** A certificate of the PCK chain or a collateral chain is on a CRL. */
  CERTIFICATE_REVOKED,
  /** The QE report is not signed by the PCK key. */
  QE_REPORT_SIGNATURE_INVALID,
  /** The QE report data is not SHA-256(attestation key ‖ QE auth data). */
  QE_REPORT_DATA_MISMATCH,
  /**
   * The QE report does not match the QE identity (MRSIGNER, ISVPRODID, masked attributes) or its
   * ISVSVN is too low.
   */
  QE_IDENTITY_MISMATCH,
  /** The quote is not signed by its attestation key. */
  QUOTE_SIGNATURE_INVALID,
  /** No platform TCB level matches the PCK TCB and TEE_TCB_SVN (Intel: TCB_NOT_SUPPORTED). */
  TCB_LEVEL_NOT_FOUND,
  /**
   * MRSIGNERSEAM / SEAM attributes do not match the TDX module identity, or its ISVSVN matches no
   * level.
   */
  TDX_MODULE_MISMATCH,
  /** The matched TCB level is Revoked. */
  TCB_REVOKED
}
