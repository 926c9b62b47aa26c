package org.teekms.kms.adapters;

import java.util.HexFormat;
import java.util.Optional;
import org.teekms.crypto.Bytes;
import org.teekms.governance.AppKeyVersions;
import org.teekms.governance.BootInfo;
import org.teekms.governance.ChainDenial;
import org.teekms.governance.GpuPolicy;
import org.teekms.governance.PolicyDecision;
import org.teekms.governance.PolicyReader;
import org.teekms.governance.RootAnchor;
import org.teekms.kms.admission.AppPolicyPort;
import org.teekms.kms.admission.AppPolicyVerdict;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.onboarding.KmsPolicyPort;
import org.teekms.kms.onboarding.KmsPolicyVerdict;
import org.teekms.kms.roots.ChainRootAnchor;
import org.teekms.kms.roots.RootAnchorViolation;

/**
 * {@link AppPolicyPort} over the governance {@link PolicyReader}: KmsRegistry.isAppAllowed at a
 * pinned block, with the app's key versions read at that same block.
 *
 * <p>GPU: the BootInfo carries only GPUs whose evidence the RA-TLS verifier accepted, and the
 * contract's view applies the app's effective GPU policy to those facts (its GPU denial codes map
 * to GPU_COUNT, GPU_ARCHITECTURE and GPU_DRIVER_VERSION, see {@link #denyCode}). The reader also
 * returns that effective policy, read at the same block; the verdict carries it and the KMS
 * enforces it again itself ({@code LocalAttestationPolicy.checkGpu}), so a registry view that
 * forgot GPUs cannot release keys to a CVM without the GPUs its owner requires. An allow without a
 * GPU policy is refused (fail closed).
 */
public final class GovernanceAppPolicy
    implements AppPolicyPort, KmsPolicyPort, org.teekms.kms.onboarding.PublishedRootsPort {

  private final PolicyReader reader;
  private static final Bytes NO_INSTANCE = Bytes.copyOf(new byte[20]);

  private final long chainId;

  public GovernanceAppPolicy(PolicyReader reader, long chainId) {
    this.reader = reader;
    this.chainId = chainId;
  }

  /**
   * The newest block a policy read was pinned at (operators' status); empty before the first read.
   */
  public java.util.Optional<org.teekms.governance.ChainPolicyReader.PinnedBlock> lastPinned() {
    return reader instanceof org.teekms.governance.ChainPolicyReader c
        ? c.lastPinned()
        : java.util.Optional.empty();
  }

  /** The chain reader behind this port (the clock probe reads the chain's time through it). */
  public java.util.Optional<org.teekms.governance.ChainPolicyReader> chainReader() {
    return reader instanceof org.teekms.governance.ChainPolicyReader c
        ? java.util.Optional.of(c)
        : java.util.Optional.empty();
  }

  /**
   * The KMS-verified facts as the contract's BootInfo. An instance id must be 20 bytes (or absent =
   * zeros).
   */
  public static BootInfo bootInfo(AttestedPeer peer) {
    Bytes instance = peer.instanceId();
    if (instance.isEmpty()) {
      instance = NO_INSTANCE;
    } else if (instance.length() != 20) {
      throw new IllegalArgumentException(
          "instance id must be 20 bytes for the registry, got " + instance.length());
    }
    return new BootInfo(
        peer.appId(),
        peer.composeHash(),
        instance,
        peer.deviceId(),
        peer.mrAggregated(),
        peer.osImageHash(),
        peer.tcbStatus().name(),
        peer.advisoryIds(),
        peer.gpuCount(),
        peer.gpuArch(),
        peer.gpuMinDriverVersion(),
        peer.os().mrSystem(),
        peer.os().imageProven());
  }

  @Override
  public AppPolicyVerdict check(AttestedPeer peer) {
    BootInfo boot;
    try {
      boot = bootInfo(peer);
    } catch (IllegalArgumentException e) {
      return AppPolicyVerdict.denied(null, DenyCode.POLICY_DENIED, e.getMessage());
    }
    PolicyDecision d = reader.isAppAllowed(boot);
    if (d.failure() != null) {
      return AppPolicyVerdict.unavailable(d.failure() + ": " + d.reason());
    }
    PolicyBlockRef block = block(d);
    if (!d.allowed()) {
      return AppPolicyVerdict.denied(block, denyCode(d.denial(), peer), d.reason());
    }
    AppKeyVersions v = d.keyVersions();
    if (v == null) {
      return AppPolicyVerdict.unavailable(
          "the policy reader returned no key versions with an allow");
    }
    if (v.current() > Integer.MAX_VALUE || v.minimum() > Integer.MAX_VALUE) {
      return AppPolicyVerdict.denied(
          block,
          DenyCode.POLICY_DENIED,
          "key version out of range: current " + v.current() + ", minimum " + v.minimum());
    }
    GpuPolicy gpu = d.gpuPolicy();
    if (gpu == null) {
      return AppPolicyVerdict.unavailable("the policy reader returned no GPU policy with an allow");
    }
    if (d.rootAnchor() == null) {
      return AppPolicyVerdict.unavailable(
          "the policy reader returned no root-generation anchor with an allow");
    }
    return AppPolicyVerdict.allowed(
        block,
        (int) v.current(),
        (int) v.minimum(),
        new AppPolicyVerdict.GpuRequirement(gpu.count(), gpu.arch(), gpu.minDriverVersion()),
        anchor(d.rootAnchor()));
  }

  /**
   * The deny code for the contract's denial code (KmsRegistry/AppPolicy {@code isAppAllowed}). A
   * GPU count shortfall is told apart by the peer's own GPU facts, so a denial says the same
   * whether the chain or the KMS noticed first ({@code LocalAttestationPolicy.checkGpu}): no GPU
   * verifier here, no GPU evidence at all, or too few GPUs.
   */
  static DenyCode denyCode(ChainDenial denial, AttestedPeer peer) {
    return switch (denial) {
      case APP_NOT_REGISTERED, APP_DEREGISTERED, APP_DISABLED -> DenyCode.APP_NOT_REGISTERED;
      case COMPOSE_HASH_NOT_ALLOWED -> DenyCode.COMPOSE_HASH_NOT_ALLOWED;
      case DEVICE_NOT_ALLOWED -> DenyCode.DEVICE_NOT_ALLOWED;
      case OS_IMAGE_NOT_ALLOWED -> DenyCode.OS_IMAGE_NOT_ALLOWED;
      case OS_IMAGE_MEASUREMENT_MISMATCH -> DenyCode.OS_IMAGE_MEASUREMENT_MISMATCH;
      case TCB_STATUS_NOT_ALLOWED, ADVISORY_NOT_ALLOWED, TCB_NOT_UP_TO_DATE ->
          DenyCode.TCB_NOT_ACCEPTED;
      case GPU_COUNT_BELOW_REQUIRED ->
          !peer.gpus().verified()
              ? DenyCode.GPU_VERIFIER_NOT_CONFIGURED
              : peer.gpus().gpus().isEmpty() ? DenyCode.GPU_EVIDENCE_MISSING : DenyCode.GPU_COUNT;
      case GPU_ARCHITECTURE_NOT_ALLOWED -> DenyCode.GPU_ARCHITECTURE;
      case GPU_DRIVER_BELOW_MINIMUM -> DenyCode.GPU_DRIVER_VERSION;
      // Not answers isAppAllowed gives about a well-formed boot (another app's id, the KMS replica
      // view), and NONE is
      // never a denial: the generic code, the contract's words kept in the reason.
      case APP_ID_MISMATCH, KMS_MEASUREMENT_NOT_ALLOWED, KMS_DEVICE_NOT_ALLOWED, NONE ->
          DenyCode.POLICY_DENIED;
    };
  }

  /** The governance reader's anchor as the KMS's value. */
  static ChainRootAnchor anchor(RootAnchor a) {
    return new ChainRootAnchor(
        a.current(),
        a.states().stream().map(s -> ChainRootAnchor.State.valueOf(s.name())).toList());
  }

  /**
   * The registry's root anchor at a freshly pinned block, read through the quorum (startup checks
   * the database against it before unsealing).
   *
   * @throws RootAnchorViolation when the chain cannot be read reliably (fail closed: nothing is
   *     unsealed)
   */
  public ChainRootAnchor rootAnchor() {
    PolicyDecision d = reader.rootAnchor();
    if (d.failure() != null || d.rootAnchor() == null) {
      throw new RootAnchorViolation(
          "cannot read the chain's root-generation anchor: " + d.failure() + ": " + d.reason());
    }
    return anchor(d.rootAnchor());
  }

  /**
   * KmsRegistry.kmsIdentity(generation).rootPublicKeys at a pinned block (what a joining replica
   * checks).
   */
  @Override
  public org.teekms.governance.PublishedRootKeys rootPublicKeys(int generation) {
    try {
      return reader.kmsRootPublicKeys(generation);
    } catch (RuntimeException e) {
      return org.teekms.governance.PublishedRootKeys.unavailable(
          generation, "policy reader failed: " + e.getMessage());
    }
  }

  /**
   * KmsRegistry.isKmsAllowed for a node asking to join as a replica (measurement, device, OS image,
   * TCB).
   */
  @Override
  public KmsPolicyVerdict checkKms(AttestedPeer peer) {
    BootInfo boot;
    try {
      boot = bootInfo(peer);
    } catch (IllegalArgumentException e) {
      return new KmsPolicyVerdict(
          KmsPolicyVerdict.Outcome.DENIED, e.getMessage(), Optional.empty());
    }
    PolicyDecision d = reader.isKmsAllowed(boot);
    if (d.failure() != null) {
      return new KmsPolicyVerdict(
          KmsPolicyVerdict.Outcome.UNAVAILABLE, d.failure() + ": " + d.reason(), Optional.empty());
    }
    if (d.allowed() && d.rootAnchor() == null) {
      return new KmsPolicyVerdict(
          KmsPolicyVerdict.Outcome.UNAVAILABLE,
          "the policy reader returned no root-generation anchor with an allow",
          Optional.empty());
    }
    return new KmsPolicyVerdict(
        d.allowed() ? KmsPolicyVerdict.Outcome.ALLOWED : KmsPolicyVerdict.Outcome.DENIED,
        d.reason(),
        Optional.ofNullable(block(d)),
        Optional.ofNullable(d.rootAnchor()).map(GovernanceAppPolicy::anchor));
  }

  private PolicyBlockRef block(PolicyDecision d) {
    if (d.blockNumber() < 0 || d.blockHash().isEmpty()) {
      return null;
    }
    String hex = d.blockHash().startsWith("0x") ? d.blockHash().substring(2) : d.blockHash();
    return new PolicyBlockRef(chainId, d.blockNumber(), HexFormat.of().parseHex(hex));
  }
}
