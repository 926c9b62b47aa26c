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
    INVALID_INPUT,
    /**
     * Not a failure: the client is in calldata-only mode ({@link ChainClient#calldataOnly}) and
     * stopped at the first transaction, which {@link #unsent} carries, unsigned, for a multisig to
     * propose.
     */
    NOT_SENT
  }

  /**
   * A transaction encoded by the contract wrapper but not sent: {@code to} is null for a contract
   * deployment.
   */
  public record UnsentCall(String to, java.math.BigInteger value, String data) {}

  private final Kind kind;
  private final transient UnsentCall unsent;

  public GovernanceException(Kind kind, String message) {
    super(message);
    this.kind = kind;
    this.unsent = null;
  }

  public GovernanceException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.unsent = null;
  }

  /** Calldata-only mode stopped at this transaction. */
  GovernanceException(UnsentCall call) {
    super(
        "transaction not sent (calldata only): "
            + (call.to() == null ? "contract creation" : "to " + call.to()));
    this.kind = Kind.NOT_SENT;
    this.unsent = call;
  }

  /** The unsent transaction when {@link #kind} is NOT_SENT. */
  public java.util.Optional<UnsentCall> unsent() {
    return java.util.Optional.ofNullable(unsent);
  }

  public Kind kind() {
    return kind;
  }
}
