package org.teekms.kms.onboarding;

import org.teekms.kms.admission.AttestedPeer;

/**
 * Is this attested node an allowed KMS replica (governance {@code KmsRegistry.isKmsAllowed} at a
 * pinned block)? Never throws for chain trouble and never allows when unsure.
 */
public interface KmsPolicyPort {
  KmsPolicyVerdict checkKms(AttestedPeer peer);
}
