package org.teekms.kms.admission;

/**
 * The on-chain app policy as the KMS reads it (governance {@code KmsRegistry.isAppAllowed} plus the
 * app's key-version and GPU fields, all at one pinned block). Implementations never throw for chain
 * trouble: they return {@link AppPolicyVerdict.Outcome#UNAVAILABLE} with the reason; they never
 * return ALLOWED when unsure. May block (RPC): called from a worker thread.
 */
public interface AppPolicyPort {
  AppPolicyVerdict check(AttestedPeer peer);
}
