package org.teekms.kms.onboarding;

import java.util.Objects;
import java.util.Optional;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.roots.ChainRootAnchor;

/**
 * The chain's answer about a KMS replica: ALLOWED, DENIED (with the contract's reason) or
 * UNAVAILABLE; an ALLOWED answer from the registry also carries its root-generation anchor at the
 * same block (checked before roots are released).
 */
public record KmsPolicyVerdict(
    Outcome outcome,
    String reason,
    Optional<PolicyBlockRef> block,
    Optional<ChainRootAnchor> rootAnchor) {

  public enum Outcome {
    ALLOWED,
    DENIED,
    UNAVAILABLE
  }

  public KmsPolicyVerdict {
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(block, "block");
    Objects.requireNonNull(rootAnchor, "rootAnchor");
    if (outcome == Outcome.ALLOWED && block.isEmpty()) {
      throw new IllegalArgumentException("an allowed verdict needs the block it was read at");
    }
  }

  /** A verdict without the root anchor (denials, failures, test doubles that model no anchor). */
  public KmsPolicyVerdict(Outcome outcome, String reason, Optional<PolicyBlockRef> block) {
    this(outcome, reason, block, Optional.empty());
  }
}
