package org.teekms.attest.tdx;

/** A failed check inside the verifier; turned into an invalid {@link QuoteVerificationResult}. */
final class VerificationException extends Exception {
  private static final long serialVersionUID = 1L;
  private final VerificationFailure failure;

  VerificationException(VerificationFailure failure, String message) {
    super(message, null, false, false);
    this.failure = failure;
  }

  VerificationFailure failure() {
    return failure;
  }
}
