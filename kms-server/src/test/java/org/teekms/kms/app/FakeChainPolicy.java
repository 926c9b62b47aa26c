package org.teekms.kms.app;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.teekms.kms.admission.AppPolicyPort;
import org.teekms.kms.admission.AppPolicyVerdict;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Test double of the registry's isAppAllowed (enabled only by {@link RaTlsProfile}): an app is
 * registered with its allowed compose hashes; key versions 1/1.
 */
@Alternative
@ApplicationScoped
public class FakeChainPolicy
    implements AppPolicyPort,
        org.teekms.kms.onboarding.KmsPolicyPort,
        org.teekms.kms.onboarding.PublishedRootsPort {

  /**
   * kmsIdentity(generation).rootPublicKeys stand-in: {@code teekms-test.published-root-keys} =
   * "generation:hex,…" (set by {@link OnboardingSourceResource} to the source's keys); a generation
   * not listed is not published.
   */
  @Override
  public org.teekms.governance.PublishedRootKeys rootPublicKeys(int generation) {
    String listed =
        org.eclipse.microprofile.config.ConfigProvider.getConfig()
            .getOptionalValue("teekms-test.published-root-keys", String.class)
            .orElse("");
    for (String entry : listed.split(",")) {
      if (entry.startsWith(generation + ":")) {
        return org.teekms.governance.PublishedRootKeys.published(
            generation,
            org.teekms.crypto.Bytes.copyOf(
                HexFormat.of().parseHex(entry.substring(entry.indexOf(':') + 1))),
            7,
            "0x" + "00".repeat(32));
      }
    }
    return org.teekms.governance.PublishedRootKeys.notPublished(
        generation, 7, "0x" + "00".repeat(32), "not in teekms-test.published-root-keys");
  }

  @jakarta.inject.Inject KmsConfig config;

  /**
   * isKmsAllowed stand-in: a node is an allowed KMS iff it runs this deployment's KMS image
   * (RaTlsSetup's compose).
   */
  @Override
  public org.teekms.kms.onboarding.KmsPolicyVerdict checkKms(AttestedPeer peer) {
    byte[] kmsImage =
        org.teekms.attest.sim.SimulatedCvm.App.ofCompose(
                "tee-kms kms-server " + config.kmsId() + "\n", new byte[20])
            .composeHash()
            .toByteArray();
    boolean allowed = java.util.Arrays.equals(kmsImage, peer.composeHash().toByteArray());
    return new org.teekms.kms.onboarding.KmsPolicyVerdict(
        allowed
            ? org.teekms.kms.onboarding.KmsPolicyVerdict.Outcome.ALLOWED
            : org.teekms.kms.onboarding.KmsPolicyVerdict.Outcome.DENIED,
        allowed ? "" : "KMS measurement not allowed",
        java.util.Optional.of(new PolicyBlockRef(31337, 7, new byte[32])));
  }

  static final Set<String> ALLOWED = ConcurrentHashMap.newKeySet();

  @Override
  public AppPolicyVerdict check(AttestedPeer peer) {
    PolicyBlockRef block = new PolicyBlockRef(31337, 7, new byte[32]);
    String compose = peer.composeHash().hex();
    if (ALLOWED.stream().noneMatch(c -> c.startsWith(peer.appHex()))) {
      return AppPolicyVerdict.denied(
          block, org.teekms.kms.admission.DenyCode.APP_NOT_REGISTERED, "app not registered");
    }
    if (!ALLOWED.contains(compose)) {
      return AppPolicyVerdict.denied(
          block,
          org.teekms.kms.admission.DenyCode.COMPOSE_HASH_NOT_ALLOWED,
          "compose hash not allowed");
    }
    // No root generation published on this fake chain: the database's generations are all "not yet
    // published".
    return AppPolicyVerdict.allowed(
        block,
        1,
        1,
        AppPolicyVerdict.GpuRequirement.NONE,
        new org.teekms.kms.roots.ChainRootAnchor(0, java.util.List.of()));
  }
}
