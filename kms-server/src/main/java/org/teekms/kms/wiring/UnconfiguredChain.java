package org.teekms.kms.wiring;

import org.teekms.kms.admission.AppPolicyPort;
import org.teekms.kms.admission.AppPolicyVerdict;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.onboarding.KmsPolicyPort;
import org.teekms.kms.onboarding.KmsPolicyVerdict;

/**
 * The policy source when no chain is configured (or its adapter is not in this build): every
 * admission is refused as CHAIN_UNAVAILABLE with this reason. Fail closed; {@link KmsBeans} uses
 * the governance adapter once {@code teekms.chain.rpc-url}, {@code chain-id} and {@code
 * registry-address} are set.
 */
public final class UnconfiguredChain
    implements AppPolicyPort, KmsPolicyPort, org.teekms.kms.onboarding.PublishedRootsPort {

  @Override
  public org.teekms.governance.PublishedRootKeys rootPublicKeys(int generation) {
    return org.teekms.governance.PublishedRootKeys.unavailable(generation, REASON);
  }

  @Override
  public AppPolicyVerdict check(AttestedPeer peer) {
    return AppPolicyVerdict.unavailable(REASON);
  }

  @Override
  public KmsPolicyVerdict checkKms(AttestedPeer peer) {
    return new KmsPolicyVerdict(
        KmsPolicyVerdict.Outcome.UNAVAILABLE, REASON, java.util.Optional.empty());
  }

  private static final String REASON =
      "no on-chain policy source configured (teekms.chain.rpc-url / registry-address)";
}
