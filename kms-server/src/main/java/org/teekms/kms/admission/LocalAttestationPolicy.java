package org.teekms.kms.admission;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Checks the KMS enforces itself, whatever the chain says: no debug TD, a TCB status (and advisories) the operator
 * accepts, the app's GPU requirement met by GPUs whose evidence verified, and (optionally) the CVM having pinned this
 * KMS as its key provider.
 *
 * @param acceptedTcbStatuses e.g. {"UpToDate"}; anything else is TCB_NOT_ACCEPTED
 * @param acceptedAdvisories advisory ids tolerated; any other reported advisory is TCB_NOT_ACCEPTED
 * @param requiredKeyProvider when present, the key-provider the CVM measured must equal it
 */
public record LocalAttestationPolicy(Set<String> acceptedTcbStatuses, Set<String> acceptedAdvisories,
    Optional<String> requiredKeyProvider) {

  public LocalAttestationPolicy {
    acceptedTcbStatuses = Set.copyOf(acceptedTcbStatuses);
    acceptedAdvisories = Set.copyOf(acceptedAdvisories);
    if (acceptedTcbStatuses.isEmpty()) {
      throw new IllegalArgumentException("at least one accepted TCB status is required");
    }
  }

  /** Checks independent of the chain; throws {@link AdmissionDenied} on the first failure. */
  public void checkPeer(AttestedPeer peer) {
    if (peer.debug()) {
      throw new AdmissionDenied(DenyCode.DEBUG_TD, "the TD has the DEBUG attribute set: its memory is not confidential");
    }
    if (!acceptedTcbStatuses.contains(peer.tcbStatus())) {
      throw new AdmissionDenied(DenyCode.TCB_NOT_ACCEPTED, "TCB status " + peer.tcbStatus() + " is not accepted (accepted: "
          + acceptedTcbStatuses.stream().sorted().toList() + ")");
    }
    List<String> unaccepted = peer.advisoryIds().stream().filter(a -> !acceptedAdvisories.contains(a)).sorted().toList();
    if (!unaccepted.isEmpty()) {
      throw new AdmissionDenied(DenyCode.TCB_NOT_ACCEPTED, "platform advisories not accepted: " + unaccepted);
    }
    if (requiredKeyProvider.isPresent() && !peer.keyProvider().equals(requiredKeyProvider)) {
      throw new AdmissionDenied(DenyCode.KMS_KEY_PROVIDER_MISMATCH, "the CVM measured key provider "
          + peer.keyProvider().orElse("<none>") + ", this KMS is " + requiredKeyProvider.get());
    }
  }

  /**
   * GPU evidence checks that hold whatever the app requires (an attached GPU that fails verification is never
   * ignored), in order, the first failure is the reason: each GPU verified (its own code: GPU_NONCE_MISMATCH,
   * GPU_MEASUREMENT_MISMATCH, GPU_REVOKED, …); no physical GPU listed twice (GPU_DUPLICATE_DEVICE); one architecture
   * (GPU_ARCHITECTURE).
   */
  public static void checkGpuEvidence(AttestedPeer peer) {
    List<GpuFacts.Gpu> gpus = peer.gpus().gpus();
    for (int i = 0; i < gpus.size(); i++) {
      GpuFacts.Gpu g = gpus.get(i);
      if (!g.valid()) {
        throw new AdmissionDenied(g.refusal().get(), "GPU " + i + (g.deviceId().isEmpty() ? "" : " (device "
            + shortId(g.deviceId()) + ")") + ": " + g.detail());
      }
    }
    java.util.Map<String, Integer> seen = new java.util.HashMap<>();
    for (int i = 0; i < gpus.size(); i++) {
      Integer first = seen.putIfAbsent(gpus.get(i).deviceId(), i);
      if (first != null) {
        throw new AdmissionDenied(DenyCode.GPU_DUPLICATE_DEVICE, "GPU " + i + " is the same device ("
            + shortId(gpus.get(i).deviceId()) + ") as GPU " + first + ": one GPU's evidence counted twice");
      }
    }
    Set<String> archs = new java.util.TreeSet<>(gpus.stream().map(GpuFacts.Gpu::arch).toList());
    if (archs.size() > 1) {
      throw new AdmissionDenied(DenyCode.GPU_ARCHITECTURE, "the CVM's attested GPUs are of mixed architectures " + archs);
    }
  }

  /**
   * The app's GPU requirement (from the chain, at the pinned block) against the GPUs whose evidence verified. In
   * order: this KMS verifies GPU evidence (GPU_VERIFIER_NOT_CONFIGURED); evidence present (GPU_EVIDENCE_MISSING);
   * enough GPUs (GPU_COUNT); the required architecture (GPU_ARCHITECTURE); every driver at least the minimum
   * (GPU_DRIVER_VERSION).
   */
  public static void checkGpu(AttestedPeer peer, AppPolicyVerdict.GpuRequirement required) {
    if (required.count() == 0) {
      return;
    }
    if (!peer.gpus().verified()) {
      throw new AdmissionDenied(DenyCode.GPU_VERIFIER_NOT_CONFIGURED, "the app requires " + required.count()
          + " attested GPU(s) but this KMS does not verify GPU evidence (teekms.gpu.verification=disabled)");
    }
    if (peer.gpus().gpus().isEmpty()) {
      throw new AdmissionDenied(DenyCode.GPU_EVIDENCE_MISSING, "the app requires " + required.count()
          + " attested GPU(s); the CVM's RA-TLS certificate carries no GPU evidence");
    }
    if (peer.gpuCount() < required.count()) {
      throw new AdmissionDenied(DenyCode.GPU_COUNT, "the app requires " + required.count()
          + " attested GPU(s), the CVM presented " + peer.gpuCount() + " with valid evidence");
    }
    if (!required.arch().isEmpty() && !required.arch().equalsIgnoreCase(peer.gpuArch())) {
      throw new AdmissionDenied(DenyCode.GPU_ARCHITECTURE, "the app requires " + required.arch() + " GPUs, the CVM has "
          + (peer.gpuArch().isEmpty() ? "none" : peer.gpuArch()));
    }
    if (peer.gpuMinDriverVersion() < required.minDriverVersion()) {
      throw new AdmissionDenied(DenyCode.GPU_DRIVER_VERSION, "GPU driver version " + peer.gpuMinDriverVersion()
          + " is below the required " + required.minDriverVersion());
    }
  }

  private static String shortId(String hex) {
    return hex.length() > 16 ? hex.substring(0, 16) + "…" : hex;
  }
}
