package org.teekms.kms.admission;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What the RA-TLS handshake established about a client's GPUs, one entry per GPU (or one failed
 * entry for evidence that was malformed or not measured into RTMR3). Admission applies the app's
 * on-chain GPU policy to these facts ({@link LocalAttestationPolicy#checkGpuEvidence}, {@link
 * LocalAttestationPolicy#checkGpu}).
 *
 * @param verified false when this KMS does not verify GPU evidence at all ({@code
 *     teekms.gpu.verification=disabled}): then {@code gpus} is empty whatever the certificate
 *     carried
 * @param gpus in evidence order
 * @param bootDevices hex of the CVM's {@code gpu-devices} RTMR3 event (the GPUs it measured at
 *     boot, {@code org.teekms.attest.gpu.GpuDevices}) as its verified event log replays it; empty
 *     when not measured
 */
public record GpuFacts(boolean verified, List<Gpu> gpus, Optional<String> bootDevices) {

  /** No GPU evidence presented, and this KMS verifies GPU evidence. */
  public static final GpuFacts NONE = new GpuFacts(true, List.of());

  /** This KMS does not verify GPU evidence. */
  public static final GpuFacts NOT_VERIFIED = new GpuFacts(false, List.of());

  /**
   * One GPU's verification outcome.
   *
   * @param refusal empty when the GPU verified; else the deny code its first failed check maps to
   * @param detail why it failed ("" when valid)
   * @param deviceId SHA-256 (hex) of its device-identity certificate, "" when unknown
   * @param arch e.g. "HOPPER", "" when unknown
   * @param driverVersion / vbiosVersion as reported, "" when unknown
   */
  public record Gpu(
      Optional<DenyCode> refusal,
      String detail,
      String deviceId,
      String arch,
      String driverVersion,
      String vbiosVersion) {
    public Gpu {
      Objects.requireNonNull(refusal, "refusal");
      detail = Objects.requireNonNullElse(detail, "");
      deviceId = Objects.requireNonNullElse(deviceId, "");
      arch = Objects.requireNonNullElse(arch, "");
      driverVersion = Objects.requireNonNullElse(driverVersion, "");
      vbiosVersion = Objects.requireNonNullElse(vbiosVersion, "");
    }

    public boolean valid() {
      return refusal.isEmpty();
    }
  }

  /** Without a boot-time {@code gpu-devices} measurement. */
  public GpuFacts(boolean verified, List<Gpu> gpus) {
    this(verified, gpus, Optional.empty());
  }

  public GpuFacts {
    gpus = List.copyOf(gpus);
    Objects.requireNonNull(bootDevices, "bootDevices");
    if (!verified && !gpus.isEmpty()) {
      throw new IllegalArgumentException("unverified GPU facts cannot list GPUs");
    }
  }

  public List<Gpu> valid() {
    return gpus.stream().filter(Gpu::valid).toList();
  }
}
