package org.teekms.attest.eventlog;

import java.util.Optional;
import org.teekms.crypto.Bytes;

/**
 * Who a CVM says it is, read from its replayed RTMR3 runtime events (see docs/ra-tls.md, "Boot
 * sequence").
 *
 * @param appId 20-byte app id ({@code app-id})
 * @param composeHash SHA-256 of app-compose.json ({@code compose-hash})
 * @param instanceId instance id, 20 bytes, or empty when the app runs without one ({@code
 *     instance-id})
 * @param osImageHash 32-byte OS image hash when measured ({@code os-image-hash}), else empty
 * @param keyProvider the key-provider JSON text, e.g. {"name":"kms","id":"…"}, when measured
 * @param mrKms the KMS measurement when measured ({@code mr-kms})
 * @param storageFs the data filesystem type when measured ({@code storage-fs})
 * @param gpuEvidenceHash SHA-384 of the latest GPU evidence measured ({@code gpu-evidence}), when
 *     any
 * @param systemReady whether {@code system-ready} was reached
 * @param gpuDevices 48-byte digest of the GPUs present at boot ({@code gpu-devices}), when measured
 */
public record BootIdentity(
    Bytes appId,
    Bytes composeHash,
    Bytes instanceId,
    Optional<Bytes> osImageHash,
    Optional<String> keyProvider,
    Optional<Bytes> mrKms,
    Optional<String> storageFs,
    Optional<Bytes> gpuEvidenceHash,
    boolean systemReady,
    Optional<Bytes> gpuDevices) {

  /** Without a {@code gpu-devices} event. */
  public BootIdentity(
      Bytes appId,
      Bytes composeHash,
      Bytes instanceId,
      Optional<Bytes> osImageHash,
      Optional<String> keyProvider,
      Optional<Bytes> mrKms,
      Optional<String> storageFs,
      Optional<Bytes> gpuEvidenceHash,
      boolean systemReady) {
    this(
        appId,
        composeHash,
        instanceId,
        osImageHash,
        keyProvider,
        mrKms,
        storageFs,
        gpuEvidenceHash,
        systemReady,
        Optional.empty());
  }
}
