package org.teekms.kms.seal;

/**
 * Where the KMS's sealing key comes from. Production: a key that only this KMS's attested TEE can
 * obtain (see kms-server/README.md, "Sealing"). Simulator: a key file, enabled explicitly and
 * refused in the prod profile.
 */
public interface SealingKeyProvider {

  /** The sealing key. Fails (never returns a weaker key) when the key cannot be obtained. */
  SealingKey sealingKey();

  /**
   * True for simulated providers: the server logs this loudly and the prod profile refuses to start
   * with one.
   */
  boolean simulated();

  /** One line for the startup log (no key material). */
  String describe();
}
