package org.teekms.attest.ratls;

import java.util.Optional;

/**
 * The application's decision on a verified peer, e.g. "is this compose hash allowed for this app id
 * on chain". Runs after every cryptographic check has passed; its refusal fails the handshake with
 * {@link RaTlsException.Reason#POLICY_REJECTED}.
 */
@FunctionalInterface
public interface RaTlsPolicy {
  /**
   * @return empty to accept the peer, or why it is refused
   */
  Optional<String> refuse(RaTlsIdentity identity);

  /** Accepts any peer that verified. */
  RaTlsPolicy ACCEPT_VERIFIED = identity -> Optional.empty();
}
