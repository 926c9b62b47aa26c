package org.teekms.attest.osimage;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.crypto.Bytes;

/**
 * The three ACPI DATA digests OVMF measures into RTMR0 (QEMU's table loader script, the RSDP, the
 * tables). They depend on the VM's devices and QEMU, not on the image, so they come from the TD's
 * event log. Taking them from an untrusted log is sound because they only enter the expected RTMR0
 * at fixed positions: a log that lies about them yields an expected RTMR0 that differs from the
 * quote's. Their contents are not checked (dstack's "lite" mode does not either: {@code
 * acpi_tables_verified = false}).
 */
public record AcpiDigests(Bytes loader, Bytes rsdp, Bytes tables) {
  /** TCG {@code EV_PLATFORM_CONFIG_FLAGS}, the event type OVMF gives the ACPI DATA events. */
  public static final long ACPI_DATA_EVENT_TYPE = 10;

  public static final String LOADER = "acpi-loader";
  public static final String RSDP = "acpi-rsdp";
  public static final String TABLES = "acpi-tables";
  private static final byte[] ACPI_DATA = "ACPI DATA".getBytes(StandardCharsets.US_ASCII);
  private static final List<String> NAMES = List.of(LOADER, RSDP, TABLES);

  public AcpiDigests {
    for (Bytes b : new Bytes[] {loader, rsdp, tables}) {
      if (Objects.requireNonNull(b, "digest").length() != 48) {
        throw new IllegalArgumentException("ACPI digests are 48 bytes (SHA-384)");
      }
    }
  }

  /**
   * The digests from an event log's RTMR0 events of type 10 with payload {@code "ACPI DATA"}. There
   * must be exactly three. dstack 0.6 guests name them {@code acpi-loader}, {@code acpi-rsdp},
   * {@code acpi-tables} (in log order) before exposing the log; then each name must occur exactly
   * once. A log whose three events are all unnamed (an older guest, or a raw CCEL log) gets the
   * names by position, which is the guest's own labelling rule. Any other mix of names is refused.
   */
  public static AcpiDigests fromEventLog(List<EventLogEntry> eventLog) throws OsImageException {
    List<EventLogEntry> acpi = new ArrayList<>();
    int rtmr0Events = 0;
    for (EventLogEntry e : eventLog) {
      if (e.imr() != 0) {
        continue;
      }
      rtmr0Events++;
      if (e.eventType() == ACPI_DATA_EVENT_TYPE && Arrays.equals(e.payload(), ACPI_DATA)) {
        acpi.add(e);
      }
    }
    if (acpi.size() != 3) {
      throw missing(
          "the event log has "
              + acpi.size()
              + " RTMR0 ACPI DATA events (of "
              + rtmr0Events
              + " RTMR0 events), expected 3 (acpi-loader, acpi-rsdp, acpi-tables)");
    }
    if (acpi.stream().allMatch(e -> e.name().isEmpty())) {
      return new AcpiDigests(digest(acpi.get(0)), digest(acpi.get(1)), digest(acpi.get(2)));
    }
    Bytes[] byName = new Bytes[3];
    for (EventLogEntry e : acpi) {
      int i = NAMES.indexOf(e.name());
      if (i < 0) {
        throw missing(
            "RTMR0 ACPI DATA event named '"
                + e.name()
                + "', expected acpi-loader, acpi-rsdp or acpi-tables");
      }
      if (byName[i] != null) {
        throw missing("the event log has more than one RTMR0 ACPI DATA event named " + e.name());
      }
      byName[i] = digest(e);
    }
    return new AcpiDigests(byName[0], byName[1], byName[2]);
  }

  private static Bytes digest(EventLogEntry e) throws OsImageException {
    byte[] d = e.digest();
    if (d == null) {
      throw missing("RTMR0 ACPI DATA event '" + e.name() + "' has no digest");
    }
    return Bytes.copyOf(d);
  }

  private static OsImageException missing(String message) {
    return new OsImageException(OsImageFailure.ACPI_DIGESTS_MISSING, message);
  }
}
