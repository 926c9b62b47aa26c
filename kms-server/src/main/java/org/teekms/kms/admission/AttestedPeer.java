package org.teekms.kms.admission;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.attest.tdx.TdReport;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;

/**
 * What the RA-TLS handshake established about a client CVM (quote, event log and GPU evidence
 * already verified): the facts the admission decision uses. Built by the RA-TLS adapter from the
 * verified identity; never from anything the client merely claims.
 *
 * @param appId the app the CVM measured (its policy contract address)
 * @param instanceId 0-64 bytes (empty when the app runs without an instance id)
 * @param osImageHash 32 bytes, all zero when not measured
 * @param tcbStatus the platform's TCB status DCAP established (never Revoked: DCAP refuses that)
 * @param advisoryIds Intel advisories that apply to the platform
 * @param td the verified TD report (attributes, MRSEAM, …): what the KMS's quote policy is applied
 *     to in admission
 * @param gpuCount GPUs whose evidence verified (0 when none or not examined)
 * @param gpuArch their architecture ("" when none)
 * @param gpuMinDriverVersion lowest driver version among them (governance DriverVersion encoding, 0
 *     when none)
 * @param keyProvider the key-provider the CVM measured (which KMS it trusts), when measured
 * @param os the OS identity the hardware measured (mrSystem from the quote) and whether a document
 *     proved the image
 * @param gpus every GPU's verification outcome (the facts behind
 *     gpuCount/gpuArch/gpuMinDriverVersion, which count only valid GPUs)
 */
public record AttestedPeer(
    AppId appId,
    Bytes composeHash,
    Bytes instanceId,
    Bytes deviceId,
    Bytes mrAggregated,
    Bytes osImageHash,
    TcbStatus tcbStatus,
    List<String> advisoryIds,
    TdReport td,
    int gpuCount,
    String gpuArch,
    long gpuMinDriverVersion,
    Optional<String> keyProvider,
    MeasuredOs os,
    GpuFacts gpus) {

  /** A peer that presented no GPU evidence to a KMS that verifies GPU evidence. */
  public AttestedPeer(
      AppId appId,
      Bytes composeHash,
      Bytes instanceId,
      Bytes deviceId,
      Bytes mrAggregated,
      Bytes osImageHash,
      TcbStatus tcbStatus,
      List<String> advisoryIds,
      TdReport td,
      int gpuCount,
      String gpuArch,
      long gpuMinDriverVersion,
      Optional<String> keyProvider,
      MeasuredOs os) {
    this(
        appId,
        composeHash,
        instanceId,
        deviceId,
        mrAggregated,
        osImageHash,
        tcbStatus,
        advisoryIds,
        td,
        gpuCount,
        gpuArch,
        gpuMinDriverVersion,
        keyProvider,
        os,
        GpuFacts.NONE);
  }

  public AttestedPeer {
    Objects.requireNonNull(appId, "appId");
    exact(composeHash, 32, "composeHash");
    Objects.requireNonNull(instanceId, "instanceId");
    if (instanceId.length() > 64) {
      throw new IllegalArgumentException("instanceId longer than 64 bytes");
    }
    exact(deviceId, 32, "deviceId");
    exact(mrAggregated, 32, "mrAggregated");
    exact(osImageHash, 32, "osImageHash");
    Objects.requireNonNull(tcbStatus, "tcbStatus");
    advisoryIds = List.copyOf(advisoryIds);
    Objects.requireNonNull(td, "td");
    Objects.requireNonNull(gpuArch, "gpuArch");
    Objects.requireNonNull(keyProvider, "keyProvider");
    Objects.requireNonNull(os, "os");
    Objects.requireNonNull(gpus, "gpus");
  }

  private static void exact(Bytes b, int n, String name) {
    Objects.requireNonNull(b, name);
    if (b.length() != n) {
      throw new IllegalArgumentException(name + " must be " + n + " bytes, got " + b.length());
    }
  }

  /** Whether the TD has the DEBUG attribute (its memory is open to the host). */
  public boolean debug() {
    return td.tdAttributes().debug();
  }

  public String appHex() {
    return appId.toHex();
  }

  @Override
  public String toString() {
    return "AttestedPeer[app="
        + appId.toHex()
        + ", compose="
        + composeHash.hex()
        + ", instance="
        + instanceId.hex()
        + ", tcb="
        + tcbStatus
        + ", debug="
        + debug()
        + ", gpus="
        + gpuCount
        + ", mrSystem="
        + os.mrSystemHex()
        + "]";
  }
}
