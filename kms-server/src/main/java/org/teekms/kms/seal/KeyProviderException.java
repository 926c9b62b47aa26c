package org.teekms.kms.seal;

/**
 * The sealing key could not be obtained from the local key provider; the KMS refuses to start. The
 * message is {@code "<REASON>: <detail>"} and never carries key material.
 */
public final class KeyProviderException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why, in the order the checks run (docs/sealing.md). */
  public enum Reason {
    /** This TD's own quote could not be produced (configfs-tsm). */
    OWN_QUOTE_UNAVAILABLE,
    /** No TCP connection, or no complete response within the timeout. */
    PROVIDER_UNREACHABLE,
    /** Framing, JSON, field set or lengths are not the protocol's. */
    PROTOCOL,
    /**
     * The provider's quote is not a genuine SGX quote under the trust anchor, or its collateral is
     * unusable.
     */
    PROVIDER_QUOTE_INVALID,
    /** Genuine, but the TCB status is not accepted or the enclave is in debug mode. */
    PROVIDER_QUOTE_NOT_ACCEPTED,
    /** The provider enclave is not the pinned MRENCLAVE. */
    MRENCLAVE_MISMATCH,
    /**
     * The provider's quote and this TD's quote come from different quoting enclaves (not the same
     * machine).
     */
    DIFFERENT_PLATFORM,
    /** The provider's REPORTDATA does not commit to the returned sealed key. */
    KEY_NOT_BOUND,
    /**
     * The sealed key does not open with this request's ephemeral key (replayed, or for another TD),
     * or is not 32 bytes.
     */
    KEY_NOT_FOR_THIS_REQUEST,
    /**
     * The provider's REPORTDATA does not commit to this TD's quote: it derived the key for another
     * quote (the host substituted one on the link), or it is a provider without the tee-kms quote
     * binding (docs/sealing.md §2).
     */
    QUOTE_NOT_BOUND
  }

  private final Reason reason;

  public KeyProviderException(Reason reason, String detail) {
    super(reason + ": " + detail);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
