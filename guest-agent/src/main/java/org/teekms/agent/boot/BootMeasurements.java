package org.teekms.agent.boot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.gpu.GpuAttestationException;
import org.teekms.attest.gpu.GpuDevices;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventLog;

/**
 * Measures the app identity into RTMR3 in dstack's boot order (docs/ra-tls.md §1.3):
 * system-preparing, app-id, compose-hash, instance-id, boot-mr-done, then os-image-hash and
 * key-provider; on a GPU CVM then, once, {@code gpu-devices} (the GPUs present at boot, {@link
 * GpuDevices}). The GPU evidence hash is measured by the RA-TLS certificate factory right before it
 * quotes; {@link #systemReady} closes the setup phase once the keys are in hand (nothing
 * identity-bearing can be measured after it).
 */
public final class BootMeasurements {
  private BootMeasurements() {}

  public static void measureIdentity(RuntimeEventLog log, CvmIdentity id)
      throws QuoteProviderException {
    log.emit(DstackBootSequence.SYSTEM_PREPARING, new byte[0]);
    log.emit(DstackBootSequence.APP_ID, id.appId().toBytes());
    log.emit(DstackBootSequence.COMPOSE_HASH, id.compose().composeHash().toByteArray());
    log.emit(DstackBootSequence.INSTANCE_ID, id.instanceId().toBytes());
    log.emit(DstackBootSequence.BOOT_MR_DONE, new byte[0]);
    log.emit(DstackBootSequence.OS_IMAGE_HASH, id.osImageHash().toByteArray());
    log.emit(
        DstackBootSequence.KEY_PROVIDER,
        id.compose().keyProviderJson().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Measures, once per boot and before any key request, which physical GPUs this CVM has: the KMS
   * and verifiers refuse later GPU evidence from other devices (GPU_DEVICE_CHANGED).
   */
  public static void measureGpuDevices(RuntimeEventLog log, GpuEvidenceProvider gpu)
      throws QuoteProviderException {
    byte[] nonce = new byte[32];
    new SecureRandom().nextBytes(nonce);
    byte[] digest;
    try {
      digest = GpuDevices.digest(gpu.collect(nonce));
    } catch (IOException | GpuAttestationException e) {
      throw new QuoteProviderException(
          "collecting the boot-time GPU devices failed: " + e.getMessage(), e);
    }
    log.emit(GpuDevices.RTMR3_EVENT_NAME, digest);
  }

  public static void systemReady(RuntimeEventLog log) throws QuoteProviderException {
    log.emit(DstackBootSequence.SYSTEM_READY, new byte[0]);
  }
}
