package org.teekms.kms.admission;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.teekms.attest.eventlog.MrConfigId;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.TcbStatus;

/**
 * Checks the KMS enforces itself, whatever the chain says: the quote policy (no debug TD, a TCB
 * status and advisories the operator accepts, TD attributes, TDX module, no service TD), a non-zero
 * MRCONFIGID binding the measured compose, the app's GPU requirement met by GPUs whose evidence
 * verified, and (optionally) the CVM having pinned this KMS as its key provider.
 *
 * <p>This is the only place the KMS applies its quote policy to a peer: the RA-TLS handshake only
 * proves the evidence ({@code RaTlsVerifier.Builder#deferQuotePolicy}), so that a refusal reaches
 * the client with its precise code and is audited under the peer's app.
 *
 * @param quotePolicy what a verified quote must satisfy ({@link #quotePolicy(Collection,
 *     Collection)} from config)
 * @param requiredKeyProvider when present, the key-provider the CVM measured must equal it
 */
public record LocalAttestationPolicy(
    QuotePolicy quotePolicy, Optional<String> requiredKeyProvider) {

  public LocalAttestationPolicy {
    Objects.requireNonNull(quotePolicy, "quotePolicy");
    Objects.requireNonNull(requiredKeyProvider, "requiredKeyProvider");
  }

  /**
   * @param acceptedTcbStatuses e.g. {"UpToDate"}; anything else is TCB_NOT_ACCEPTED
   * @param acceptedAdvisories advisory ids tolerated; any other reported advisory is
   *     TCB_NOT_ACCEPTED
   */
  public LocalAttestationPolicy(
      Set<String> acceptedTcbStatuses,
      Set<String> acceptedAdvisories,
      Optional<String> requiredKeyProvider) {
    this(quotePolicy(acceptedTcbStatuses, acceptedAdvisories), requiredKeyProvider);
  }

  /**
   * The KMS's quote policy: exactly the accepted TCB statuses (Intel's spelling; unknown ones and
   * Revoked are configuration errors) and advisories; never a debug TD; SEPT_VE_DISABLE required;
   * no service TD.
   */
  public static QuotePolicy quotePolicy(
      Collection<String> acceptedTcbStatuses, Collection<String> acceptedAdvisories) {
    if (acceptedTcbStatuses.isEmpty()) {
      throw new IllegalArgumentException("at least one accepted TCB status is required");
    }
    Set<TcbStatus> statuses =
        acceptedTcbStatuses.stream().map(TcbStatus::parse).collect(Collectors.toSet());
    return new QuotePolicy(
        statuses, Set.copyOf(acceptedAdvisories), false, false, Set.of(), true, false, false);
  }

  /**
   * The quote policy on the peer's verified quote. The first failure is the reason, in this order:
   * a debug TD (DEBUG_TD); the TCB status, then its advisories (TCB_NOT_ACCEPTED); TD attributes,
   * TDX module or service-TD binding (TD_NOT_ACCEPTED). The detail names every rule the quote
   * breaks.
   */
  public void checkQuote(AttestedPeer peer) {
    QuotePolicy.Decision d = quotePolicy.evaluate(peer.tcbStatus(), peer.advisoryIds(), peer.td());
    if (d.allowed()) {
      return;
    }
    QuotePolicy.Violation first =
        d.broken().stream()
            .min(java.util.Comparator.comparingInt(v -> rank(v.rule())))
            .orElseThrow();
    String detail =
        first.detail()
            + (d.broken().size() > 1 ? " (all: " + String.join("; ", d.violations()) + ")" : "");
    throw new AdmissionDenied(code(first.rule()), detail);
  }

  private static int rank(QuotePolicy.Rule rule) {
    return switch (rule) {
      case DEBUG -> 0;
      case TCB_STATUS -> 1;
      case ADVISORY -> 2;
      default -> 3;
    };
  }

  private static DenyCode code(QuotePolicy.Rule rule) {
    return switch (rule) {
      case DEBUG -> DenyCode.DEBUG_TD;
      case TCB_STATUS, ADVISORY -> DenyCode.TCB_NOT_ACCEPTED;
      case TD_ATTRIBUTES, MRSEAM, SERVICE_TD, SGX, NOT_VERIFIED -> DenyCode.TD_NOT_ACCEPTED;
    };
  }

  /**
   * Checks independent of the chain, in order: {@link #checkQuote}; MRCONFIGID, when non-zero, is
   * dstack's {@code 0x01 ‖ compose hash} of the compose the CVM measured (MR_CONFIG_ID_MISMATCH,
   * {@link MrConfigId}); then the key provider. Throws on the first.
   */
  public void checkPeer(AttestedPeer peer) {
    checkQuote(peer);
    checkMrConfigId(peer);
    if (requiredKeyProvider.isPresent() && !peer.keyProvider().equals(requiredKeyProvider)) {
      throw new AdmissionDenied(
          DenyCode.KMS_KEY_PROVIDER_MISMATCH,
          "the CVM measured key provider "
              + peer.keyProvider().orElse("<none>")
              + ", this KMS is "
              + requiredKeyProvider.get());
    }
  }

  /**
   * The TD's MRCONFIGID (the host's launch configuration, in the hardware-signed report) is zero or
   * dstack's {@code 0x01 ‖ compose hash ‖ 0…} naming the compose the CVM measured; else
   * MR_CONFIG_ID_MISMATCH with both values ({@link MrConfigId}). Applied to app CVMs ({@link
   * #checkPeer}) and to KMS nodes joining by onboarding.
   */
  public static void checkMrConfigId(AttestedPeer peer) {
    Optional<String> config = MrConfigId.mismatch(peer.td().mrConfigId(), peer.composeHash());
    if (config.isPresent()) {
      throw new AdmissionDenied(DenyCode.MR_CONFIG_ID_MISMATCH, config.get());
    }
  }

  /**
   * GPU evidence checks that hold whatever the app requires (an attached GPU that fails
   * verification is never ignored), in order, the first failure is the reason: each GPU verified
   * (its own code: GPU_NONCE_MISMATCH, GPU_MEASUREMENT_MISMATCH, GPU_REVOKED, …); no physical GPU
   * listed twice (GPU_DUPLICATE_DEVICE); one architecture (GPU_ARCHITECTURE).
   */
  public static void checkGpuEvidence(AttestedPeer peer) {
    List<GpuFacts.Gpu> gpus = peer.gpus().gpus();
    for (int i = 0; i < gpus.size(); i++) {
      GpuFacts.Gpu g = gpus.get(i);
      if (!g.valid()) {
        throw new AdmissionDenied(
            g.refusal().get(),
            "GPU "
                + i
                + (g.deviceId().isEmpty() ? "" : " (device " + shortId(g.deviceId()) + ")")
                + ": "
                + g.detail());
      }
    }
    java.util.Map<String, Integer> seen = new java.util.HashMap<>();
    for (int i = 0; i < gpus.size(); i++) {
      Integer first = seen.putIfAbsent(gpus.get(i).deviceId(), i);
      if (first != null) {
        throw new AdmissionDenied(
            DenyCode.GPU_DUPLICATE_DEVICE,
            "GPU "
                + i
                + " is the same device ("
                + shortId(gpus.get(i).deviceId())
                + ") as GPU "
                + first
                + ": one GPU's evidence counted twice");
      }
    }
    Set<String> archs = new java.util.TreeSet<>(gpus.stream().map(GpuFacts.Gpu::arch).toList());
    if (archs.size() > 1) {
      throw new AdmissionDenied(
          DenyCode.GPU_ARCHITECTURE, "the CVM's attested GPUs are of mixed architectures " + archs);
    }
  }

  /**
   * The GPUs presented now are the GPUs the CVM measured at boot (RTMR3 {@code gpu-devices},
   * docs/gpu-attestation.md): when GPU evidence was presented and verified, the event must be there
   * (the event log parser allows it at most once) and equal the digest of the presented devices'
   * fingerprints; otherwise GPU_DEVICE_CHANGED. Stops a CVM from presenting, after boot, evidence
   * from GPUs other than its own (another machine's, or a swapped device).
   */
  public static void checkGpuDevicesUnchanged(AttestedPeer peer) {
    List<GpuFacts.Gpu> gpus = peer.gpus().gpus();
    if (!peer.gpus().verified() || gpus.isEmpty()) {
      return;
    }
    Optional<String> measured = peer.gpus().bootDevices();
    if (measured.isEmpty()) {
      throw new AdmissionDenied(
          DenyCode.GPU_DEVICE_CHANGED,
          "the CVM presents evidence of "
              + gpus.size()
              + " GPU(s) but measured no gpu-devices event at boot");
    }
    byte[] presented;
    try {
      presented =
          org.teekms.attest.gpu.GpuDevices.digestOfHex(
              gpus.stream().map(GpuFacts.Gpu::deviceId).toList());
    } catch (IllegalArgumentException e) {
      throw new AdmissionDenied(
          DenyCode.GPU_DEVICE_CHANGED, "a presented GPU has no usable device fingerprint");
    }
    byte[] atBoot = java.util.HexFormat.of().parseHex(measured.get());
    if (!java.security.MessageDigest.isEqual(presented, atBoot)) {
      throw new AdmissionDenied(
          DenyCode.GPU_DEVICE_CHANGED,
          "the presented GPUs ("
              + gpus.stream().map(g -> shortId(g.deviceId())).toList()
              + ") are not the devices measured at boot "
              + "(gpu-devices "
              + measured.get().substring(0, 16)
              + "…)");
    }
  }

  /**
   * The app's GPU requirement (from the chain, at the pinned block) against the GPUs whose evidence
   * verified. In order: this KMS verifies GPU evidence (GPU_VERIFIER_NOT_CONFIGURED); evidence
   * present (GPU_EVIDENCE_MISSING); enough GPUs (GPU_COUNT); the required architecture
   * (GPU_ARCHITECTURE); every driver at least the minimum (GPU_DRIVER_VERSION).
   */
  public static void checkGpu(AttestedPeer peer, AppPolicyVerdict.GpuRequirement required) {
    if (required.count() == 0) {
      return;
    }
    if (!peer.gpus().verified()) {
      throw new AdmissionDenied(
          DenyCode.GPU_VERIFIER_NOT_CONFIGURED,
          "the app requires "
              + required.count()
              + " attested GPU(s) but this KMS does not verify GPU evidence (teekms.gpu.verification=disabled)");
    }
    if (peer.gpus().gpus().isEmpty()) {
      throw new AdmissionDenied(
          DenyCode.GPU_EVIDENCE_MISSING,
          "the app requires "
              + required.count()
              + " attested GPU(s); the CVM's RA-TLS certificate carries no GPU evidence");
    }
    if (peer.gpuCount() < required.count()) {
      throw new AdmissionDenied(
          DenyCode.GPU_COUNT,
          "the app requires "
              + required.count()
              + " attested GPU(s), the CVM presented "
              + peer.gpuCount()
              + " with valid evidence");
    }
    if (!required.arch().isEmpty() && !required.arch().equalsIgnoreCase(peer.gpuArch())) {
      throw new AdmissionDenied(
          DenyCode.GPU_ARCHITECTURE,
          "the app requires "
              + required.arch()
              + " GPUs, the CVM has "
              + (peer.gpuArch().isEmpty() ? "none" : peer.gpuArch()));
    }
    if (peer.gpuMinDriverVersion() < required.minDriverVersion()) {
      throw new AdmissionDenied(
          DenyCode.GPU_DRIVER_VERSION,
          "GPU driver version "
              + peer.gpuMinDriverVersion()
              + " is below the required "
              + required.minDriverVersion());
    }
  }

  private static String shortId(String hex) {
    return hex.length() > 16 ? hex.substring(0, 16) + "…" : hex;
  }
}
