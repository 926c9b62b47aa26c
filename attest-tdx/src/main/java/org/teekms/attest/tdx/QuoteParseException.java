package org.teekms.attest.tdx;

/** The quote bytes are not a well-formed DCAP quote; the message says which field and offset. */
public final class QuoteParseException extends Exception {
  private static final long serialVersionUID = 1L;

  public QuoteParseException(String message) {
    super(message);
  }

  public QuoteParseException(String message, Throwable cause) {
    super(message, cause);
  }
}
