package org.teekms.kms.app;

import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;
import org.teekms.kms.admission.AppPolicyPort;
import org.teekms.kms.admission.AppPolicyVerdict;
import org.teekms.kms.admission.AttestedPeer;

/**
 * The policy source when no chain is configured (or its adapter is not in this build): every admission is refused as
 * CHAIN_UNAVAILABLE with this reason. Fail closed; replaced by the governance adapter when one is configured.
 */
@DefaultBean
@ApplicationScoped
public class UnconfiguredChain implements AppPolicyPort {

  @Override
  public AppPolicyVerdict check(AttestedPeer peer) {
    return AppPolicyVerdict.unavailable("no on-chain policy source configured (teekms.chain.rpc-url / registry-address)");
  }
}
