package org.teekms.kms.roots;

/**
 * The database's root generations contradict the chain's anchor ({@link ChainRootAnchor}); the
 * message says how.
 */
public final class RootAnchorViolation extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public RootAnchorViolation(String message) {
    super(message);
  }
}
