package org.teekms.agent.boot;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsPolicy;
import org.teekms.crypto.Bytes;
import org.teekms.keys.EthereumAddress;

/**
 * Decides, during the TLS handshake, whether the attested peer may act as our KMS. The trust
 * manager has already verified its quote, event log and TCB; this policy then requires either
 *
 * <ul>
 *   <li>a KMS registered on chain: the peer's {@code mrAggregated} is one the KMS registry lists
 *       ({@link KmsRegistry}), or
 *   <li>a key provider pinned in app-compose ({@code key_provider_id} = the KMS root address): any
 *       attested peer is let through the handshake, and {@link AppKeysVerifier} then requires the
 *       released app root certificate to be signed by exactly that root key and to match the
 *       released app root secret, which only a holder of the pinned KMS's root secret can produce.
 * </ul>
 *
 * Without either, every peer is refused (fail closed).
 */
public final class KmsAuthorizer implements RaTlsPolicy {
  /**
   * The on-chain view of which KMS measurements are registered (an allowlist in configuration, or
   * the chain).
   */
  @FunctionalInterface
  public interface KmsRegistry {
    boolean isRegisteredKms(RaTlsIdentity kms);

    /** A registry that lists the given aggregated measurements (hex). */
    static KmsRegistry allowing(Set<Bytes> mrAggregated) {
      Set<Bytes> copy = Set.copyOf(mrAggregated);
      return kms -> copy.contains(kms.mrAggregated());
    }

    KmsRegistry NONE = kms -> false;

    /** Registered in this registry or in {@code other}. */
    default KmsRegistry or(KmsRegistry other) {
      return kms -> isRegisteredKms(kms) || other.isRegisteredKms(kms);
    }
  }

  private final KmsRegistry registry;
  private final Optional<EthereumAddress> pinnedRoot;
  private final AtomicReference<RaTlsIdentity> accepted = new AtomicReference<>();
  private volatile boolean viaRegistry;

  public KmsAuthorizer(KmsRegistry registry, Optional<EthereumAddress> pinnedRoot) {
    this.registry = registry;
    this.pinnedRoot = pinnedRoot;
  }

  @Override
  public Optional<String> refuse(RaTlsIdentity kms) {
    if (registry.isRegisteredKms(kms)) {
      accepted.set(kms);
      viaRegistry = true;
      return Optional.empty();
    }
    if (pinnedRoot.isPresent()) {
      accepted.set(kms);
      viaRegistry = false;
      return Optional.empty();
    }
    return Optional.of(
        "KMS with mrAggregated "
            + kms.mrAggregated().hex()
            + " (app "
            + kms.appId().hex()
            + ") is not registered and app-compose pins no key provider");
  }

  public Optional<EthereumAddress> pinnedRoot() {
    return pinnedRoot;
  }

  /**
   * Whether the last accepted KMS was accepted because the registry lists it (not only by a pinned
   * root).
   */
  public boolean acceptedViaRegistry() {
    return viaRegistry;
  }

  /** The last KMS identity accepted in a handshake. */
  public Optional<RaTlsIdentity> acceptedKms() {
    return Optional.ofNullable(accepted.get());
  }
}
