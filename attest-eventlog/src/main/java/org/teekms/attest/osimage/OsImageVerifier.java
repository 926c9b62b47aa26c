package org.teekms.attest.osimage;

import java.util.ArrayList;
import java.util.List;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.attest.tdx.TdReport;
import org.teekms.crypto.Bytes;

/**
 * Proves (or refuses) the OS image a dstack TD claims in its vm_config by recomputing the image's
 * MRTD and RTMR0-2 and comparing them with the quote's: the "lite" TDX path of dstack 0.6's
 * verifier, without downloading the image. The vm_config and the event log are untrusted input;
 * only the quote's registers (which the caller must take from a verified quote) are trusted. The
 * checks, in order (the first failure is the verdict):
 *
 * <ol>
 *   <li>the vm_config parses strictly ({@link VmConfig#parse}) — {@code VM_CONFIG_INVALID};
 *   <li>it carries {@code tdx_measurement} — {@code MEASUREMENT_DOCUMENT_MISSING};
 *   <li>{@code os_image_hash == SHA-256(checksum_file)} — {@code OS_IMAGE_HASH_MISMATCH};
 *   <li>the checksum file lists {@code measurement.tdx.cbor} once — {@code CHECKSUM_FILE_INVALID} —
 *       with the document's SHA-256 — {@code MEASUREMENT_DOCUMENT_HASH_MISMATCH};
 *   <li>the CBOR document decodes (schema version 3) — {@code MEASUREMENT_DOCUMENT_INVALID};
 *   <li>vm_config's {@code ovmf_variant}, if given, equals the document's — {@code
 *       OVMF_VARIANT_MISMATCH};
 *   <li>the event log has the three RTMR0 ACPI DATA digests — {@code ACPI_DIGESTS_MISSING};
 *   <li>the memory size is one the document's kernel hash holds for — {@code
 *       MEMORY_SIZE_UNSUPPORTED};
 *   <li>the QEMU version picks an MRTD candidate — {@code QEMU_VERSION_UNSUPPORTED}; the TD HOB
 *       witness is well-formed — {@code MEASUREMENT_DOCUMENT_INVALID};
 *   <li>expected MRTD, RTMR0, RTMR1, RTMR2 equal the quote's — {@code
 *       OS_IMAGE_MEASUREMENT_MISMATCH}, naming every register that differs.
 * </ol>
 *
 * <p>Never throws on any input: malformed input is a verdict, not an exception. RTMR3 (the runtime
 * events) is not looked at here; the event-log verifier replays it.
 */
public final class OsImageVerifier {
  private OsImageVerifier() {}

  /** Verifies against the registers of a (verified) TD report. */
  public static OsImageVerdict verify(
      TdReport td, byte[] vmConfigJson, List<EventLogEntry> eventLog) {
    return verify(QuotedMeasurements.of(td), vmConfigJson, eventLog);
  }

  /**
   * Verifies against the quote's registers ({@code actual}); see the class comment for the checks.
   */
  public static OsImageVerdict verify(
      QuotedMeasurements actual, byte[] vmConfigJson, List<EventLogEntry> eventLog) {
    TdxMeasurements quoted = TdxMeasurements.of(java.util.Objects.requireNonNull(actual, "actual"));
    Bytes osImageHash = null;
    try {
      VmConfig vm = VmConfig.parse(vmConfigJson == null ? new byte[0] : vmConfigJson);
      osImageHash = vm.osImageHash();
      TdxMeasurementDocument doc = vm.tdxMeasurement();
      if (doc == null) {
        throw new OsImageException(
            OsImageFailure.MEASUREMENT_DOCUMENT_MISSING,
            "vm_config has no tdx_measurement document, so the measurements of OS image "
                + osImageHash.hex()
                + " cannot be computed");
      }
      doc.check(osImageHash.toByteArray());
      TdxImageMeasurement image = TdxImageMeasurement.decode(doc.measurement());
      if (vm.ovmfVariant() != null && !vm.ovmfVariant().equals(image.ovmfVariant())) {
        throw new OsImageException(
            OsImageFailure.OVMF_VARIANT_MISMATCH,
            "vm_config.ovmf_variant "
                + vm.ovmfVariant()
                + " differs from the document's "
                + image.ovmfVariant());
      }
      AcpiDigests acpi = AcpiDigests.fromEventLog(eventLog == null ? List.of() : eventLog);
      TdxMeasurements expected = OsImageMeasurer.measure(vm, image, acpi);
      List<String> mismatches = expected.differences(quoted);
      if (!mismatches.isEmpty()) {
        List<String> parts = new ArrayList<>();
        for (String name : mismatches) {
          int i = TdxMeasurements.NAMES.indexOf(name);
          parts.add(
              name
                  + " differs (expected "
                  + expected.get(i).hex()
                  + ", quote "
                  + quoted.get(i).hex()
                  + ")");
        }
        String error =
            OsImageFailure.OS_IMAGE_MEASUREMENT_MISMATCH
                + ": the TD did not boot OS image "
                + osImageHash.hex()
                + ": "
                + String.join("; ", parts);
        return new OsImageVerdict(
            false,
            OsImageFailure.OS_IMAGE_MEASUREMENT_MISMATCH,
            osImageHash,
            expected,
            quoted,
            mismatches,
            error);
      }
      return new OsImageVerdict(true, null, osImageHash, expected, quoted, List.of(), null);
    } catch (OsImageException e) {
      return new OsImageVerdict(
          false,
          e.failure(),
          osImageHash,
          null,
          quoted,
          List.of(),
          e.failure() + ": " + e.getMessage());
    } catch (RuntimeException e) {
      // Defence in depth: a bug in a parser must still deny, with a reason, rather than escape to
      // the caller.
      return new OsImageVerdict(
          false,
          OsImageFailure.VM_CONFIG_INVALID,
          osImageHash,
          null,
          quoted,
          List.of(),
          OsImageFailure.VM_CONFIG_INVALID + ": the vm_config or event log could not be checked");
    }
  }
}
