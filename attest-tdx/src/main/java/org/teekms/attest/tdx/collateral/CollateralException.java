package org.teekms.attest.tdx.collateral;

/** Collateral could not be obtained or is malformed; the message says which item and why. */
public final class CollateralException extends Exception {
  private static final long serialVersionUID = 1L;

  public CollateralException(String message) {
    super(message);
  }

  public CollateralException(String message, Throwable cause) {
    super(message, cause);
  }
}
