package org.teekms.agent.boot;

import java.nio.charset.StandardCharsets;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventLog;

/**
 * Measures the app identity into RTMR3 in dstack's boot order (docs/ra-tls.md §1.3): system-preparing, app-id,
 * compose-hash, instance-id, boot-mr-done, then os-image-hash and key-provider. The GPU evidence hash is measured by
 * the RA-TLS certificate factory right before it quotes; {@link #systemReady} closes the setup phase once the keys
 * are in hand (nothing identity-bearing can be measured after it).
 */
public final class BootMeasurements {
  private BootMeasurements() {}

  public static void measureIdentity(RuntimeEventLog log, CvmIdentity id) throws QuoteProviderException {
    log.emit(DstackBootSequence.SYSTEM_PREPARING, new byte[0]);
    log.emit(DstackBootSequence.APP_ID, id.appId().toBytes());
    log.emit(DstackBootSequence.COMPOSE_HASH, id.compose().composeHash());
    log.emit(DstackBootSequence.INSTANCE_ID, id.instanceId().toBytes());
    log.emit(DstackBootSequence.BOOT_MR_DONE, new byte[0]);
    log.emit(DstackBootSequence.OS_IMAGE_HASH, id.osImageHash());
    log.emit(DstackBootSequence.KEY_PROVIDER, id.compose().keyProviderJson().getBytes(StandardCharsets.UTF_8));
  }

  public static void systemReady(RuntimeEventLog log) throws QuoteProviderException {
    log.emit(DstackBootSequence.SYSTEM_READY, new byte[0]);
  }
}
