package org.teekms.keys;

/** A key request that is well-formed but must not be served; {@link #reason()} says why. */
public final class KeyRefusedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public enum Reason {
    /** Version below 1. */
    VERSION_INVALID,
    /** Version above the app's current version. */
    VERSION_NOT_YET_ISSUED,
    /** Version below the app's minimum served version. */
    VERSION_BELOW_MINIMUM,
    /** Version individually withdrawn (below the current one, above the minimum). */
    VERSION_WITHDRAWN,
    /** No root secret of that generation was ever held. */
    GENERATION_UNKNOWN,
    /** The root secret of that generation was destroyed (crypto-shredded). */
    GENERATION_DESTROYED,
    /** A KMS-tier key asked of an app root secret (only the KMS can derive it), or the reverse. */
    WRONG_TIER,
    /** Generation, app id or version of the request differ from those of the app root secret. */
    CONTEXT_MISMATCH
  }

  private final Reason reason;

  public KeyRefusedException(Reason reason, String detail) {
    super(reason + ": " + detail);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
