package org.teekms.kms.custody;

/**
 * A custody step cannot run now (chain unreadable or without quorum, too few custodians, share
 * store not writable, a backup not yet published when publication is required): the step is rolled
 * back and retried later. The message says what is missing and what an operator can do.
 */
public final class CustodyUnavailable extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CustodyUnavailable(String message) {
    super(message);
  }

  public CustodyUnavailable(String message, Throwable cause) {
    super(message, cause);
  }
}
