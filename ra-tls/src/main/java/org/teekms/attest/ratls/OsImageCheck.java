package org.teekms.attest.ratls;

import java.util.List;
import java.util.Optional;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.VerifiedEventLog;
import org.teekms.attest.tdx.TdReport;

/**
 * Proves (or not) that the OS image hash a peer claims in RTMR3 is the image the TDX module
 * measured, from a measurement document the CVM carries in its RA-TLS certificate (dstack's {@code
 * vm_config}, extension {@link RaTlsOids#VM_CONFIG}). Called by {@link RaTlsVerifier} after the
 * quote and the event log verified.
 *
 * <p>Implementations must compute the expected MRTD and RTMR0-2 from the document alone and compare
 * them with {@code td}; they never throw (a malformed document is {@code notProven} with the
 * reason). The default, {@link #NONE}, proves nothing, so only golden measurements registered on
 * chain admit an OS image.
 */
@FunctionalInterface
public interface OsImageCheck {

  /**
   * @param td the verified TD report (MRTD, RTMR0-3)
   * @param log the event log, already replayed against {@code td}; its identity carries the claimed
   *     OS image
   * @param entries that log's entries (RTMR0's ACPI digests are read from them)
   * @param vmConfig the vm_config JSON the certificate carries, if any (unverified bytes, bounded
   *     in size)
   */
  OsImageProof check(
      TdReport td, VerifiedEventLog log, List<EventLogEntry> entries, Optional<byte[]> vmConfig);

  /**
   * Proves nothing: the OS image is left to the golden measurements (mrSystem) registered on chain.
   */
  OsImageCheck NONE =
      (td, log, entries, vmConfig) ->
          OsImageProof.notProven(
              vmConfig.isPresent()
                  ? "a measurement document was presented but no measurement-document verifier is configured"
                  : "no measurement document");
}
