package org.teekms.governance;

/**
 * The KMS's read-only view of the on-chain policy. Implementations never throw and never allow on
 * failure: a chain that cannot be read reliably yields a denial whose {@link
 * PolicyDecision#failure()} says why.
 */
public interface PolicyReader {
  /**
   * May this CVM get the keys of {@code boot.appId}? (KmsRegistry.isAppAllowed) When allowed, the
   * decision also carries the app's key versions read at the same block.
   */
  PolicyDecision isAppAllowed(BootInfo boot);

  /** May this CVM join as a KMS replica? (KmsRegistry.isKmsAllowed) */
  PolicyDecision isKmsAllowed(BootInfo boot);

  /**
   * The root public keys the registry publishes for root {@code generation} ({@code kmsGeneration}
   * and {@code kmsIdentity(generation)}, both at one pinned block). Never throws.
   */
  PublishedRootKeys kmsRootPublicKeys(long generation);

  /**
   * The registry's root-generation anchor (KmsRegistry.rootGenerations) at a freshly pinned block:
   * an "allowed" decision carrying {@link PolicyDecision#rootAnchor()}, or a failure saying why it
   * could not be read.
   */
  PolicyDecision rootAnchor();
}
