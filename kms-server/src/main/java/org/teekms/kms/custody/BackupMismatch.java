package org.teekms.kms.custody;

/**
 * Permanent, fail closed: what is on chain or in the database for a generation's backup is not what
 * this KMS made (another backup was published for the generation, or the database's backup record
 * does not authenticate). Custody of that generation cannot be completed; a root rotation that
 * needs it fails and its staged generation is never promoted.
 */
public final class BackupMismatch extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BackupMismatch(String message) {
    super(message);
  }
}
