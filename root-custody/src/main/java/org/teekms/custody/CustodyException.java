package org.teekms.custody;

import java.util.List;

/**
 * Why a custody operation refused. The message is one line, safe to show to an operator, and never
 * contains secret material; {@link #badIndices()} names the share indices found wrong (empty when
 * the reason is not about shares).
 */
public final class CustodyException extends Exception {
  private static final long serialVersionUID = 1L;

  /** The reason, stable for callers and audit logs. */
  public enum Reason {
    /**
     * An encoding (share, commitments, envelope, key) is truncated, oversized, or has a bad field.
     */
    MALFORMED,
    /** Two shares carry the same index. */
    DUPLICATE_INDEX,
    /** An envelope did not decrypt or authenticate under the expected context. */
    ENVELOPE_REJECTED,
    /** Fewer than the threshold of shares verified against the commitments. */
    NOT_ENOUGH_SHARES,
    /** The reconstructed secret does not match the commitments or the published root identity. */
    IDENTITY_MISMATCH,
    /** Parameters out of range (threshold, share count, secret not a scalar). */
    INVALID_PARAMETERS
  }

  private final Reason reason;
  private final List<Integer> badIndices;

  public CustodyException(Reason reason, String message) {
    this(reason, message, List.of());
  }

  public CustodyException(Reason reason, String message, List<Integer> badIndices) {
    super(message);
    this.reason = reason;
    this.badIndices = List.copyOf(badIndices);
  }

  public Reason reason() {
    return reason;
  }

  public List<Integer> badIndices() {
    return badIndices;
  }
}
