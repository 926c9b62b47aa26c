package org.teekms.kms.admission;

import java.util.Objects;
import java.util.Optional;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.roots.ChainRootAnchor;

/**
 * What the on-chain policy says about a boot, read at ONE pinned block: the decision, and the app's
 * key-version fields and GPU requirement at that same block.
 *
 * @param outcome ALLOWED, DENIED (the contract said no, {@code reason} says why) or UNAVAILABLE
 *     (the chain could not be read reliably; {@code reason} says why; never allow)
 * @param denyCode for DENIED: the code the client and the audit log get (from the contract's denial
 *     code, never parsed from {@code reason}); empty otherwise
 * @param block the pinned block (empty only when UNAVAILABLE before a block could be pinned)
 * @param currentKeyVersion / minKeyVersion the app's on-chain key versions at that block (0 when
 *     not ALLOWED)
 * @param gpu the app's effective GPU requirement at that block
 * @param rootAnchor for ALLOWED: the registry's root-generation anchor at that block (the database
 *     is checked against it before any key is released); empty otherwise
 */
public record AppPolicyVerdict(
    Outcome outcome,
    Optional<DenyCode> denyCode,
    String reason,
    Optional<PolicyBlockRef> block,
    int currentKeyVersion,
    int minKeyVersion,
    GpuRequirement gpu,
    Optional<ChainRootAnchor> rootAnchor) {

  public enum Outcome {
    ALLOWED,
    DENIED,
    UNAVAILABLE
  }

  public record GpuRequirement(int count, String arch, long minDriverVersion) {
    public static final GpuRequirement NONE = new GpuRequirement(0, "", 0);
  }

  public AppPolicyVerdict {
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(denyCode, "denyCode");
    if (denyCode.isPresent() != (outcome == Outcome.DENIED)) {
      throw new IllegalArgumentException("a deny code comes with DENIED and only with it");
    }
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(block, "block");
    Objects.requireNonNull(gpu, "gpu");
    Objects.requireNonNull(rootAnchor, "rootAnchor");
    if (outcome == Outcome.ALLOWED
        && (block.isEmpty()
            || rootAnchor.isEmpty()
            || currentKeyVersion < 1
            || minKeyVersion < 1
            || minKeyVersion > currentKeyVersion)) {
      throw new IllegalArgumentException(
          "an allowed verdict needs a block, the root anchor and key versions "
              + "1 <= min <= current");
    }
  }

  public static AppPolicyVerdict allowed(
      PolicyBlockRef block, int current, int min, GpuRequirement gpu, ChainRootAnchor rootAnchor) {
    return new AppPolicyVerdict(
        Outcome.ALLOWED,
        Optional.empty(),
        "",
        Optional.of(block),
        current,
        min,
        gpu,
        Optional.of(rootAnchor));
  }

  public static AppPolicyVerdict denied(PolicyBlockRef block, DenyCode code, String reason) {
    return new AppPolicyVerdict(
        Outcome.DENIED,
        Optional.of(code),
        reason,
        Optional.ofNullable(block),
        0,
        0,
        GpuRequirement.NONE,
        Optional.empty());
  }

  public static AppPolicyVerdict unavailable(String reason) {
    return new AppPolicyVerdict(
        Outcome.UNAVAILABLE,
        Optional.empty(),
        reason,
        Optional.empty(),
        0,
        0,
        GpuRequirement.NONE,
        Optional.empty());
  }
}
