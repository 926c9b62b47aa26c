package org.teekms.governance;

import java.util.Objects;

/**
 * What the chain said about a boot, and at which block. When the chain could not be read reliably
 * the decision is a denial with {@link #failure()} set; it is never "allowed".
 *
 * @param allowed true only if the contract's view returned allowed at {@code blockNumber}/{@code
 *     blockHash}
 * @param denial why the contract's view denied ({@link ChainDenial}, the code it returned); {@link
 *     ChainDenial#NONE} when allowed and when the chain could not be read ({@code failure} says why
 *     then). Branch on this, never on {@code reason}
 * @param reason the contract's reason in words on denial, or the failure's description; "" when
 *     allowed
 * @param blockNumber the pinned block the view was evaluated at; -1 when no block could be pinned
 * @param blockHash that block's hash (0x-hex); "" when no block could be pinned
 * @param failure why the chain could not answer, or null when it did
 * @param keyVersions for an allowed isAppAllowed: the app's key-version state at the same block;
 *     else null
 * @param gpuPolicy for an allowed isAppAllowed: the app's effective GPU policy ({@code
 *     AppPolicy.effectiveGpuPolicy}, its override or the registry default) at the same block, so
 *     the KMS can enforce it itself; else null
 * @param rootAnchor for an allowed decision: the registry's root-generation anchor at the same
 *     block (the KMS checks its database against it before releasing anything); else null
 */
public record PolicyDecision(
    boolean allowed,
    ChainDenial denial,
    String reason,
    long blockNumber,
    String blockHash,
    Failure failure,
    AppKeyVersions keyVersions,
    GpuPolicy gpuPolicy,
    RootAnchor rootAnchor) {

  /** Ways reading the policy can fail. Each one denies. */
  public enum Failure {
    /** The RPC endpoint did not answer (or answered with a transport error). */
    RPC_UNAVAILABLE,
    /** The endpoint serves another chain than configured. */
    WRONG_CHAIN,
    /**
     * A block pinned earlier is no longer canonical: the chain reorganized deeper than the
     * confirmations.
     */
    REORG,
    /** The view call failed (no contract at the pinned block, malformed answer, RPC error). */
    CALL_FAILED,
    /**
     * Endpoints of the quorum answered differently (block hash, chain id or call result): one of
     * them lies.
     */
    DISAGREEMENT,
    /**
     * The pinned block is older than the configured maximum age, or older than a block already
     * seen.
     */
    STALE_BLOCK
  }

  public PolicyDecision {
    Objects.requireNonNull(denial, "denial");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(blockHash, "blockHash");
    if (allowed && failure != null)
      throw new IllegalArgumentException("a failed read cannot allow");
    if (allowed && denial != ChainDenial.NONE)
      throw new IllegalArgumentException("an allow carries no denial");
    if (!allowed && failure == null && denial == ChainDenial.NONE) {
      throw new IllegalArgumentException("a denial by the chain needs its denial code");
    }
    if (failure != null && denial != ChainDenial.NONE) {
      throw new IllegalArgumentException("a failed read has no denial code from the chain");
    }
    if (!allowed && keyVersions != null)
      throw new IllegalArgumentException("a denial carries no key versions");
    if (!allowed && gpuPolicy != null)
      throw new IllegalArgumentException("a denial carries no GPU policy");
    if (!allowed && rootAnchor != null)
      throw new IllegalArgumentException("a denial carries no root anchor");
  }

  /**
   * What the chain answered: allowed exactly when {@code denial} is NONE (then with the state read
   * at that block).
   */
  static PolicyDecision fromChain(
      ChainDenial denial,
      String reason,
      long blockNumber,
      String blockHash,
      AppKeyVersions keyVersions,
      GpuPolicy gpuPolicy,
      RootAnchor anchor) {
    boolean allowed = denial == ChainDenial.NONE;
    return new PolicyDecision(
        allowed,
        denial,
        allowed ? "" : reason,
        blockNumber,
        blockHash,
        null,
        allowed ? keyVersions : null,
        allowed ? gpuPolicy : null,
        allowed ? anchor : null);
  }

  static PolicyDecision failed(Failure failure, String reason, long blockNumber, String blockHash) {
    return new PolicyDecision(
        false, ChainDenial.NONE, reason, blockNumber, blockHash, failure, null, null, null);
  }

  static PolicyDecision failed(Failure failure, String reason) {
    return failed(failure, reason, -1, "");
  }

  /** True when the chain answered (allowed or denied by policy), false when reading failed. */
  public boolean chainAnswered() {
    return failure == null;
  }
}
