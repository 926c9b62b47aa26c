package org.teekms.kms.seal;

/**
 * A sealed secret could not be unsealed: wrong key, wrong binding, or altered bytes. Never carries
 * secret bytes.
 */
public final class SealingException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SealingException(String message) {
    super(message);
  }
}
