package org.teekms.kms.operator;

/** An operator request refused, with the check that failed and a precise, non-secret detail. */
public final class OperatorDenied extends Exception {

  private static final long serialVersionUID = 1L;

  public enum Code {
    /** A field is missing or out of range: the request has no signable message. */
    MALFORMED,
    /** Signed for another KMS, chain or registry. */
    WRONG_DOMAIN,
    /** The timestamp is outside the accepted clock skew. */
    STALE,
    /** The signature is not a valid 65-byte secp256k1 signature of the message. */
    BAD_SIGNATURE,
    /** The signer is not the registry owner at the pinned block. */
    NOT_OWNER,
    /**
     * The registry owner is a contract, and its EIP-1271 {@code isValidSignature} at the pinned
     * block reverted or returned anything but the magic value 0x1626ba7e.
     */
    CONTRACT_REJECTED,
    /** SYNC_APP for an address that is not a REGISTERED app of the registry at the pinned block. */
    APP_NOT_REGISTERED,
    /** The nonce was already spent. */
    REPLAYED,
    /** No chain configured, or the owner could not be read: refused, retry later. */
    CHAIN_UNAVAILABLE
  }

  private final Code code;
  private final String detail;

  public OperatorDenied(Code code, String detail) {
    super(code + ": " + detail);
    this.code = code;
    this.detail = detail;
  }

  public Code code() {
    return code;
  }

  public String detail() {
    return detail;
  }
}
