package org.teekms.agent.boot;

/**
 * The boot cannot complete: the KMS denied us, or kept failing past the retry budget. The message
 * says why.
 */
public final class BootFailure extends Exception {
  private static final long serialVersionUID = 1L;

  /**
   * The KMS's DenyReason name (teekms-deny-reason trailer), or a local reason such as
   * RETRIES_EXHAUSTED.
   */
  private final String reason;

  public BootFailure(String reason, String message, Throwable cause) {
    super(reason + ": " + message, cause);
    this.reason = reason;
  }

  public String reason() {
    return reason;
  }
}
