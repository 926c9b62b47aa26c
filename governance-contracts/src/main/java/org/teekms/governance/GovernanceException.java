package org.teekms.governance;

/** A chain operation that did not happen, with the precise reason. */
public final class GovernanceException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why an operation failed. */
  public enum Kind {
    /** The contract rejected the call; the message carries its revert reason. */
    REVERTED,
    /** The RPC endpoint serves another chain than the configured chain id. */
    WRONG_CHAIN,
    /** The sending account cannot pay for gas. */
    INSUFFICIENT_FUNDS,
    /** The RPC endpoint is unreachable or answered with an error. */
    RPC,
    /** The transaction was sent but no receipt arrived in time. */
    TIMEOUT,
    /** Input that cannot be sent (bad key, bad address, unreadable file). */
    INVALID_INPUT
  }

  private final Kind kind;

  public GovernanceException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public GovernanceException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
