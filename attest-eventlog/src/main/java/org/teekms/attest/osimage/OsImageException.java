package org.teekms.attest.osimage;

import java.util.Objects;

/**
 * A check of the OS-image measurement path failed; {@link #failure()} says which, the message says
 * exactly why.
 */
public final class OsImageException extends Exception {
  private static final long serialVersionUID = 1L;
  private final OsImageFailure failure;

  public OsImageException(OsImageFailure failure, String message) {
    super(message);
    this.failure = Objects.requireNonNull(failure, "failure");
  }

  public OsImageFailure failure() {
    return failure;
  }
}
