package org.teekms.agent.env;

/**
 * An encrypted environment could not be used. {@link #reason()} is a stable code (the boot failure
 * reason); the message names variables at most, never a value, a key or plaintext.
 */
public final class EnvSecretException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Stable reasons, in the order the checks run (docs/env-secrets.md §4). */
  public enum Reason {
    /**
     * The blob is shorter than ephemeral key + IV + tag, or longer than {@link EnvBlob#MAX_BYTES}.
     */
    ENV_BLOB_MALFORMED,
    /**
     * No served key version's env-encryption key opens the blob (wrong key, or blob or tag
     * altered).
     */
    ENV_DECRYPTION_FAILED,
    /**
     * The decrypted plaintext is not dstack's {@code {"env":[{"key","value"}…]}} JSON within the
     * limits.
     */
    ENV_PLAINTEXT_INVALID,
    /** A variable is not in the app-compose's {@code allowed_envs}. */
    ENV_NOT_ALLOWED,
    /**
     * The app-compose used is not the one measured into RTMR3, or its {@code allowed_envs} is
     * invalid.
     */
    ENV_COMPOSE_UNVERIFIED,
    /** The encrypted file is required but absent, or the decrypted file could not be written. */
    ENV_UNAVAILABLE,
    /** A .env input file (CLI) is malformed. */
    ENV_FILE_INVALID
  }

  private final Reason reason;

  public EnvSecretException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
