package org.teekms.kms.onboarding;

import java.util.Objects;
import java.util.Optional;
import org.teekms.kms.grant.PolicyBlockRef;

/** The chain's answer about a KMS replica: ALLOWED, DENIED (with the contract's reason) or UNAVAILABLE. */
public record KmsPolicyVerdict(Outcome outcome, String reason, Optional<PolicyBlockRef> block) {

  public enum Outcome { ALLOWED, DENIED, UNAVAILABLE }

  public KmsPolicyVerdict {
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(block, "block");
    if (outcome == Outcome.ALLOWED && block.isEmpty()) {
      throw new IllegalArgumentException("an allowed verdict needs the block it was read at");
    }
  }
}
