package org.teekms.kms.tls;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventRecorder;

/**
 * Measures the trust configuration into RTMR3, once per TD boot. In order, the first matching case
 * decides:
 *
 * <ol>
 *   <li>the TD's runtime log has no {@code teekms-trust-config} event: extend RTMR3 with it and log
 *       it ({@link Outcome#EXTENDED});
 *   <li>it has exactly one with this digest (the KMS process restarted in the same boot): nothing
 *       to do, RTMR3 already says so ({@link Outcome#ALREADY_MEASURED});
 *   <li>otherwise (another digest, or several): refuse to start. RTMR3 cannot be reset without a
 *       reboot, and running under a configuration other than the measured one would make the
 *       measurement a lie.
 * </ol>
 */
public final class TrustConfigMeasurement {

  public enum Outcome {
    EXTENDED,
    ALREADY_MEASURED
  }

  private TrustConfigMeasurement() {}

  public static Outcome measure(TrustConfiguration trust, RuntimeEventRecorder log)
      throws QuoteProviderException {
    byte[] digest = trust.digest();
    List<EventLogEntry> earlier =
        log.runtimeEvents().stream()
            .filter(e -> TrustConfiguration.EVENT_NAME.equals(e.name()))
            .toList();
    if (earlier.isEmpty()) {
      log.emit(TrustConfiguration.EVENT_NAME, digest);
      return Outcome.EXTENDED;
    }
    if (earlier.size() == 1 && Arrays.equals(earlier.get(0).payload(), digest)) {
      return Outcome.ALREADY_MEASURED;
    }
    throw new IllegalStateException(
        "this TD already measured another trust configuration in this boot (RTMR3 event "
            + TrustConfiguration.EVENT_NAME
            + " "
            + HexFormat.of().formatHex(earlier.get(0).payload())
            + ", now "
            + trust.digestHex()
            + "): the configuration changed since; reboot the CVM to run with the new one");
  }
}
