package org.teekms.kms.rotation;

/**
 * A job's precondition no longer holds: the job is marked FAILED with this message and never
 * retried.
 */
public final class RotationAbort extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public RotationAbort(String message) {
    super(message);
  }
}
