package org.teekms.attest.ratls;

import java.time.Duration;
import java.util.Optional;

/**
 * Told about every {@link RaTlsVerifier#verify} (metrics: verification latency, cache hit rate,
 * refusals by reason). Called on the verifying thread, so implementations must be fast and must not
 * throw.
 */
public interface RaTlsVerificationListener {

  RaTlsVerificationListener NONE = (took, cacheHit, failure) -> {};

  /**
   * @param took time spent in {@code verify}
   * @param cacheHit the identity came from the verifier's cache (no verification work)
   * @param failure the refusal's reason; empty when the certificate was accepted
   */
  void verified(Duration took, boolean cacheHit, Optional<RaTlsException.Reason> failure);
}
