package org.teekms.governance;

import java.util.List;
import java.util.Objects;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;

/**
 * The boot identity of a confidential VM as the KMS verified it; mirrors the Solidity struct {@code
 * BootInfo} field by field (same order, same sizes). Immutable; equality is by value.
 *
 * @param appId the app's AppPolicy contract address
 * @param composeHash 32 bytes: SHA-256 of app-compose.json
 * @param instanceId 20 bytes
 * @param deviceId 32 bytes
 * @param mrAggregated 32 bytes: aggregated measurement
 * @param osImageHash 32 bytes
 * @param tcbStatus DCAP TCB status, e.g. "UpToDate"
 * @param advisoryIds Intel advisory IDs reported for the platform
 * @param gpuCount number of GPUs whose evidence verified
 * @param gpuArch their architecture, e.g. "HOPPER" ("" when none)
 * @param gpuDriverVersion lowest driver version among them, {@link DriverVersion} encoding (0 when
 *     none)
 * @param mrSystem 32 bytes: SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2) of the verified quote (the OS the
 *     hardware measured); the registry admits {@code osImageHash} only if this is a golden
 *     measurement registered for it
 * @param osImageMeasured whether the KMS verified a measurement document proving {@code
 *     osImageHash} against the quote (then no golden measurement is needed)
 */
public record BootInfo(
    AppId appId,
    Bytes composeHash,
    Bytes instanceId,
    Bytes deviceId,
    Bytes mrAggregated,
    Bytes osImageHash,
    String tcbStatus,
    List<String> advisoryIds,
    int gpuCount,
    String gpuArch,
    long gpuDriverVersion,
    Bytes mrSystem,
    boolean osImageMeasured) {

  private static final Bytes NO_MR_SYSTEM = Bytes.copyOf(new byte[32]);

  public BootInfo {
    Objects.requireNonNull(appId, "appId");
    exact(composeHash, 32, "composeHash");
    exact(instanceId, 20, "instanceId");
    exact(deviceId, 32, "deviceId");
    exact(mrAggregated, 32, "mrAggregated");
    exact(osImageHash, 32, "osImageHash");
    Objects.requireNonNull(tcbStatus, "tcbStatus");
    advisoryIds = List.copyOf(advisoryIds);
    Objects.requireNonNull(gpuArch, "gpuArch");
    if (gpuCount < 0) throw new IllegalArgumentException("gpuCount is negative");
    if (gpuDriverVersion < 0 || gpuDriverVersion > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("gpuDriverVersion out of uint32 range");
    }
    exact(mrSystem, 32, "mrSystem");
  }

  /**
   * A boot without a hardware-measured OS identity: mrSystem all zero (which the registry never
   * accepts as a golden measurement) and not measured. For tools and tests; the KMS always passes
   * the quote's mrSystem.
   */
  public BootInfo(
      AppId appId,
      Bytes composeHash,
      Bytes instanceId,
      Bytes deviceId,
      Bytes mrAggregated,
      Bytes osImageHash,
      String tcbStatus,
      List<String> advisoryIds,
      int gpuCount,
      String gpuArch,
      long gpuDriverVersion) {
    this(
        appId,
        composeHash,
        instanceId,
        deviceId,
        mrAggregated,
        osImageHash,
        tcbStatus,
        advisoryIds,
        gpuCount,
        gpuArch,
        gpuDriverVersion,
        NO_MR_SYSTEM,
        false);
  }

  /** A boot without GPUs (and without a measured OS identity, see above). */
  public static BootInfo withoutGpu(
      AppId appId,
      Bytes composeHash,
      Bytes instanceId,
      Bytes deviceId,
      Bytes mrAggregated,
      Bytes osImageHash,
      String tcbStatus,
      List<String> advisoryIds) {
    return new BootInfo(
        appId,
        composeHash,
        instanceId,
        deviceId,
        mrAggregated,
        osImageHash,
        tcbStatus,
        advisoryIds,
        0,
        "",
        0);
  }

  /** Returns a copy of this boot with another OS measurement (tests and tools). */
  public BootInfo withMrSystem(Bytes mrSystem, boolean osImageMeasured) {
    return new BootInfo(
        appId,
        composeHash,
        instanceId,
        deviceId,
        mrAggregated,
        osImageHash,
        tcbStatus,
        advisoryIds,
        gpuCount,
        gpuArch,
        gpuDriverVersion,
        mrSystem,
        osImageMeasured);
  }

  /** The app id as a 0x-prefixed lowercase address. */
  public String appAddress() {
    return "0x" + appId.toHex();
  }

  /** The struct as the generated KmsRegistry wrapper takes it. */
  org.teekms.governance.contracts.KmsRegistryContract.BootInfo registryStruct() {
    return new org.teekms.governance.contracts.KmsRegistryContract.BootInfo(
        appAddress(),
        composeHash.toByteArray(),
        instanceId.toByteArray(),
        deviceId.toByteArray(),
        mrAggregated.toByteArray(),
        osImageHash.toByteArray(),
        tcbStatus,
        advisoryIds,
        java.math.BigInteger.valueOf(gpuCount),
        gpuArch,
        java.math.BigInteger.valueOf(gpuDriverVersion),
        mrSystem.toByteArray(),
        osImageMeasured);
  }

  /** The struct as the generated AppPolicy wrapper takes it. */
  org.teekms.governance.contracts.AppPolicyContract.BootInfo appStruct() {
    return new org.teekms.governance.contracts.AppPolicyContract.BootInfo(
        appAddress(),
        composeHash.toByteArray(),
        instanceId.toByteArray(),
        deviceId.toByteArray(),
        mrAggregated.toByteArray(),
        osImageHash.toByteArray(),
        tcbStatus,
        advisoryIds,
        java.math.BigInteger.valueOf(gpuCount),
        gpuArch,
        java.math.BigInteger.valueOf(gpuDriverVersion),
        mrSystem.toByteArray(),
        osImageMeasured);
  }

  /** Returns a copy of this boot with another compose hash (tests and tools). */
  public BootInfo withComposeHash(Bytes hash) {
    return new BootInfo(
        appId,
        hash,
        instanceId,
        deviceId,
        mrAggregated,
        osImageHash,
        tcbStatus,
        advisoryIds,
        gpuCount,
        gpuArch,
        gpuDriverVersion,
        mrSystem,
        osImageMeasured);
  }

  private static void exact(Bytes b, int length, String name) {
    Objects.requireNonNull(b, name);
    if (b.length() != length) {
      throw new IllegalArgumentException(name + " must be " + length + " bytes, got " + b.length());
    }
  }

  @Override
  public String toString() {
    return "BootInfo[appId="
        + appAddress()
        + ", composeHash="
        + composeHash
        + ", instanceId="
        + instanceId
        + ", deviceId="
        + deviceId
        + ", mrAggregated="
        + mrAggregated
        + ", osImageHash="
        + osImageHash
        + ", tcbStatus="
        + tcbStatus
        + ", advisoryIds="
        + advisoryIds
        + ", gpuCount="
        + gpuCount
        + ", gpuArch="
        + gpuArch
        + ", gpuDriverVersion="
        + DriverVersion.format(gpuDriverVersion)
        + ", mrSystem="
        + mrSystem
        + ", osImageMeasured="
        + osImageMeasured
        + "]";
  }
}
