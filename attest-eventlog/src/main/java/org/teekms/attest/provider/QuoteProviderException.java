package org.teekms.attest.provider;

/** Obtaining a quote or extending a register failed (no TDX device, kernel refused, I/O error). */
public final class QuoteProviderException extends Exception {
  private static final long serialVersionUID = 1L;

  public QuoteProviderException(String message) {
    super(message);
  }

  public QuoteProviderException(String message, Throwable cause) {
    super(message, cause);
  }
}
