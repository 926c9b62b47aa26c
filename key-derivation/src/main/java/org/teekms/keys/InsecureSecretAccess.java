package org.teekms.keys;

/**
 * Token that every read of secret bytes must present, so that each such read is visible (and
 * greppable) at its call site, as in Tink's {@code InsecureSecretKeyAccess}. It grants nothing by
 * itself; it documents intent.
 */
public final class InsecureSecretAccess {
  private static final InsecureSecretAccess INSTANCE = new InsecureSecretAccess();

  private InsecureSecretAccess() {}

  public static InsecureSecretAccess get() {
    return INSTANCE;
  }
}
