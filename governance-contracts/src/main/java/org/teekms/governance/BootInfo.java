package org.teekms.governance;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The boot identity of a confidential VM as the KMS verified it; mirrors the Solidity struct {@code
 * BootInfo} field by field (same order, same sizes). Byte arrays are copied in and out.
 *
 * @param appId 20 bytes: the app's AppPolicy contract address
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
    byte[] appId,
    byte[] composeHash,
    byte[] instanceId,
    byte[] deviceId,
    byte[] mrAggregated,
    byte[] osImageHash,
    String tcbStatus,
    List<String> advisoryIds,
    int gpuCount,
    String gpuArch,
    long gpuDriverVersion,
    byte[] mrSystem,
    boolean osImageMeasured) {

  public BootInfo {
    appId = copy(appId, 20, "appId");
    composeHash = copy(composeHash, 32, "composeHash");
    instanceId = copy(instanceId, 20, "instanceId");
    deviceId = copy(deviceId, 32, "deviceId");
    mrAggregated = copy(mrAggregated, 32, "mrAggregated");
    osImageHash = copy(osImageHash, 32, "osImageHash");
    Objects.requireNonNull(tcbStatus, "tcbStatus");
    advisoryIds = List.copyOf(advisoryIds);
    Objects.requireNonNull(gpuArch, "gpuArch");
    if (gpuCount < 0) throw new IllegalArgumentException("gpuCount is negative");
    if (gpuDriverVersion < 0 || gpuDriverVersion > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("gpuDriverVersion out of uint32 range");
    }
    mrSystem = copy(mrSystem, 32, "mrSystem");
  }

  /**
   * A boot without a hardware-measured OS identity: mrSystem all zero (which the registry never
   * accepts as a golden measurement) and not measured. For tools and tests; the KMS always passes
   * the quote's mrSystem.
   */
  public BootInfo(
      byte[] appId,
      byte[] composeHash,
      byte[] instanceId,
      byte[] deviceId,
      byte[] mrAggregated,
      byte[] osImageHash,
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
        new byte[32],
        false);
  }

  /** A boot without GPUs (and without a measured OS identity, see above). */
  public static BootInfo withoutGpu(
      byte[] appId,
      byte[] composeHash,
      byte[] instanceId,
      byte[] deviceId,
      byte[] mrAggregated,
      byte[] osImageHash,
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
  public BootInfo withMrSystem(byte[] mrSystem, boolean osImageMeasured) {
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

  @Override
  public byte[] appId() {
    return appId.clone();
  }

  @Override
  public byte[] composeHash() {
    return composeHash.clone();
  }

  @Override
  public byte[] instanceId() {
    return instanceId.clone();
  }

  @Override
  public byte[] deviceId() {
    return deviceId.clone();
  }

  @Override
  public byte[] mrAggregated() {
    return mrAggregated.clone();
  }

  @Override
  public byte[] osImageHash() {
    return osImageHash.clone();
  }

  @Override
  public byte[] mrSystem() {
    return mrSystem.clone();
  }

  /** The app id as a 0x-prefixed lowercase address. */
  public String appAddress() {
    return "0x" + HexFormat.of().formatHex(appId);
  }

  /** The struct as the generated KmsRegistry wrapper takes it. */
  org.teekms.governance.contracts.KmsRegistryContract.BootInfo registryStruct() {
    return new org.teekms.governance.contracts.KmsRegistryContract.BootInfo(
        appAddress(),
        composeHash,
        instanceId,
        deviceId,
        mrAggregated,
        osImageHash,
        tcbStatus,
        advisoryIds,
        java.math.BigInteger.valueOf(gpuCount),
        gpuArch,
        java.math.BigInteger.valueOf(gpuDriverVersion),
        mrSystem,
        osImageMeasured);
  }

  /** The struct as the generated AppPolicy wrapper takes it. */
  org.teekms.governance.contracts.AppPolicyContract.BootInfo appStruct() {
    return new org.teekms.governance.contracts.AppPolicyContract.BootInfo(
        appAddress(),
        composeHash,
        instanceId,
        deviceId,
        mrAggregated,
        osImageHash,
        tcbStatus,
        advisoryIds,
        java.math.BigInteger.valueOf(gpuCount),
        gpuArch,
        java.math.BigInteger.valueOf(gpuDriverVersion),
        mrSystem,
        osImageMeasured);
  }

  /** Returns a copy of this boot with another compose hash (tests and tools). */
  public BootInfo withComposeHash(byte[] hash) {
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

  private static byte[] copy(byte[] b, int length, String name) {
    Objects.requireNonNull(b, name);
    if (b.length != length) {
      throw new IllegalArgumentException(name + " must be " + length + " bytes, got " + b.length);
    }
    return b.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BootInfo b
        && Arrays.equals(appId, b.appId)
        && Arrays.equals(composeHash, b.composeHash)
        && Arrays.equals(instanceId, b.instanceId)
        && Arrays.equals(deviceId, b.deviceId)
        && Arrays.equals(mrAggregated, b.mrAggregated)
        && Arrays.equals(osImageHash, b.osImageHash)
        && tcbStatus.equals(b.tcbStatus)
        && advisoryIds.equals(b.advisoryIds)
        && gpuCount == b.gpuCount
        && gpuArch.equals(b.gpuArch)
        && gpuDriverVersion == b.gpuDriverVersion
        && Arrays.equals(mrSystem, b.mrSystem)
        && osImageMeasured == b.osImageMeasured;
  }

  @Override
  public int hashCode() {
    int h =
        Objects.hash(tcbStatus, advisoryIds, gpuCount, gpuArch, gpuDriverVersion, osImageMeasured);
    for (byte[] b :
        List.of(appId, composeHash, instanceId, deviceId, mrAggregated, osImageHash, mrSystem)) {
      h = 31 * h + Arrays.hashCode(b);
    }
    return h;
  }

  @Override
  public String toString() {
    HexFormat hex = HexFormat.of();
    return "BootInfo[appId="
        + appAddress()
        + ", composeHash="
        + hex.formatHex(composeHash)
        + ", instanceId="
        + hex.formatHex(instanceId)
        + ", deviceId="
        + hex.formatHex(deviceId)
        + ", mrAggregated="
        + hex.formatHex(mrAggregated)
        + ", osImageHash="
        + hex.formatHex(osImageHash)
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
        + hex.formatHex(mrSystem)
        + ", osImageMeasured="
        + osImageMeasured
        + "]";
  }
}
