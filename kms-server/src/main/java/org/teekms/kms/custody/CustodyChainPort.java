package org.teekms.kms.custody;

import java.util.List;
import java.util.Optional;
import org.teekms.custody.RecipientKey;
import org.teekms.governance.RootCustody;

/**
 * What the KMS reads from the RootCustody contract (docs/root-custody.md §5.3, §9), always at one
 * pinned block: the custodian set a new backup is sealed to, and what the registry owner published
 * for a generation. The real implementation is {@link ChainCustody} (every configured RPC endpoint,
 * a quorum answering alike); tests use an in-memory one. Failures are {@link CustodyUnavailable}:
 * the caller retries, it never proceeds without an answer.
 */
public interface CustodyChainPort {

  /**
   * The active custodians, in the contract's {@code custodianIds()} order, each key checked against
   * its id.
   */
  CustodianSet activeCustodians();

  /** The backup published for {@code generation}; empty when none is. */
  Optional<RootCustody.Backup> publishedBackup(int generation);

  /**
   * The key registered for custodian {@code id} (active or not: a deactivated custodian still holds
   * its shares of older backups), its SHA-256 checked against the id; empty when no custodian has
   * that id.
   */
  Optional<RecipientKey> custodianKey(byte[] id);

  /**
   * {@code RootCustody.isRecoveryAuthorized(requestId, generation, nodeKeyId)}: authorized, or the
   * contract's reason.
   */
  RootCustody.Authorization recoveryAuthorization(
      byte[] requestId, int generation, byte[] nodeKeyId);

  /** Custodian keys as of {@code block}; share i goes to {@code keys.get(i - 1)}. */
  record CustodianSet(List<RecipientKey> keys, long block) {
    public CustodianSet {
      keys = List.copyOf(keys);
    }
  }
}
