package org.teekms.keys;

/** Thrown on any use of a secret (or a key holding one) after {@code destroy()}. */
public final class DestroyedSecretException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public DestroyedSecretException() {
    super("destroyed");
  }
}
