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

  /** The app's GPU requirement (from the chain) against the GPUs whose evidence verified. */
  public static void checkGpu(AttestedPeer peer, AppPolicyVerdict.GpuRequirement required) {
    if (required.count() == 0) {
      return;
    }
    if (peer.gpuCount() < required.count()) {
      throw new AdmissionDenied(DenyCode.GPU_POLICY_UNMET, "the app requires " + required.count()
          + " attested GPU(s), the CVM presented " + peer.gpuCount() + " with valid evidence");
    }
    if (!required.arch().isEmpty() && !required.arch().equalsIgnoreCase(peer.gpuArch())) {
      throw new AdmissionDenied(DenyCode.GPU_POLICY_UNMET, "the app requires " + required.arch() + " GPUs, the CVM has "
          + (peer.gpuArch().isEmpty() ? "none" : peer.gpuArch()));
    }
    if (peer.gpuMinDriverVersion() < required.minDriverVersion()) {
      throw new AdmissionDenied(DenyCode.GPU_POLICY_UNMET, "GPU driver version " + peer.gpuMinDriverVersion()
          + " is below the required " + required.minDriverVersion());
    }
  }

  /** Maps the contract's reason string to a deny code (unknown reasons are POLICY_DENIED, the text is kept). */
  public static DenyCode codeForChainReason(String reason) {
    String r = reason.toLowerCase(java.util.Locale.ROOT);
    if (r.contains("not registered") || r.contains("deregistered") || r.contains("disabled")) {
      return DenyCode.APP_NOT_REGISTERED;
    }
    if (r.contains("compose hash")) {
      return DenyCode.COMPOSE_HASH_NOT_ALLOWED;
    }
    if (r.contains("device")) {
      return DenyCode.DEVICE_NOT_ALLOWED;
    }
    if (r.contains("os image measurement")) {
      return DenyCode.OS_IMAGE_MEASUREMENT_MISMATCH;
    }
    if (r.contains("os image")) {
      return DenyCode.OS_IMAGE_NOT_ALLOWED;
    }
    if (r.contains("tcb") || r.contains("advisory")) {
      return DenyCode.TCB_NOT_ACCEPTED;
    }
    if (r.contains("gpu") || r.contains("driver")) {
      return DenyCode.GPU_POLICY_UNMET;
    }
    return DenyCode.POLICY_DENIED;
  }
}
