package org.teekms.attest.ratls;

import java.util.List;
import java.util.Optional;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.VerifiedEventLog;
import org.teekms.attest.osimage.OsImageVerdict;
import org.teekms.attest.osimage.OsImageVerifier;
import org.teekms.attest.tdx.TdReport;

/**
 * The {@link OsImageCheck} of dstack's measurement documents (docs/os-image-measurement.md): the
 * vm_config the CVM carries in its certificate names an OS image and its {@code tdx_measurement}
 * (sha256sum.txt + measurement.tdx.cbor); {@link OsImageVerifier} computes that image's MRTD and
 * RTMR0-2 for the VM's memory size, with RTMR0's ACPI digests from the replayed log, and they must
 * equal the quote's. The proven image is the vm_config's {@code os_image_hash}, which then replaces
 * the guest's own RTMR3 claim: the host or the guest wrote both, but only this one is bound to what
 * the TDX module measured. Every failure is "not proven" with the verifier's exact reason (golden
 * values may still admit the image).
 */
public final class MeasurementDocumentCheck implements OsImageCheck {

  public static final MeasurementDocumentCheck INSTANCE = new MeasurementDocumentCheck();

  private MeasurementDocumentCheck() {}

  @Override
  public OsImageProof check(
      TdReport td, VerifiedEventLog log, List<EventLogEntry> entries, Optional<byte[]> vmConfig) {
    if (vmConfig.isEmpty()) {
      return OsImageProof.notProven("no measurement document");
    }
    OsImageVerdict v = OsImageVerifier.verify(td, vmConfig.get(), entries);
    if (!v.verified()) {
      return OsImageProof.notProven(v.error());
    }
    return OsImageProof.proven(
        v.osImageHash(),
        "measurement document of OS image "
            + v.osImageHash().hex()
            + ": MRTD and RTMR0-2 equal the quote's");
  }
}
