package org.teekms.attest.provider;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.teekms.attest.eventlog.CcelEventLog;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.DstackRuntimeEventFile;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.EventLogException;
import org.teekms.attest.eventlog.EventLogVerifier;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.crypto.Bytes;

/**
 * The event log of the TD this process runs in, as the platform keeps it: the firmware's CCEL
 * (RTMR0-2; ACPI table and log area under {@code /sys/firmware/acpi/tables}) followed by the
 * runtime events dstack's guest recorded (RTMR3; {@code /run/log/dstack/runtime_events.log}, absent
 * = none yet). Firmware events keep their digests but not their event data (see the comment in
 * {@code firmware()}). Paths are configurable so that tests use a directory tree.
 *
 * <p>{@link #quote} reads the log, quotes, and checks the log against its own quote ({@link
 * EventLogVerifier}: every register replays, dstack's boot sequence is followed) before handing
 * both out; a runtime event appended between reading and quoting is caught by re-reading (a few
 * attempts). A log that does not verify against this TD's own quote is an error with the verifier's
 * reason: a certificate made from it would be refused by every peer anyway.
 *
 * <p>{@link #emit} records a runtime event as dstack's guest does: extend RTMR3 through the {@link
 * RtmrExtender} (sysfs {@code tsm-mr} in a real TD), then append the line to the runtime event
 * file; without an extender it refuses.
 */
public final class TdEventLog implements EvidenceSource, RuntimeEventRecorder {
  public static final Path DEFAULT_CCEL_TABLE = Path.of("/sys/firmware/acpi/tables/CCEL");
  public static final Path DEFAULT_CCEL_DATA = Path.of("/sys/firmware/acpi/tables/data/CCEL");
  public static final Path DEFAULT_RUNTIME_EVENTS = Path.of("/run/log/dstack/runtime_events.log");
  private static final int ATTEMPTS = 3;

  private final QuoteProvider quotes;
  private final Path ccelTable;
  private final Path ccelData;
  private final Path runtimeEvents;
  private final RtmrExtender extender;
  private List<EventLogEntry> firmware;

  public TdEventLog(QuoteProvider quotes, Path ccelTable, Path ccelData, Path runtimeEvents) {
    this(quotes, ccelTable, ccelData, runtimeEvents, null);
  }

  /**
   * @param extender extends RTMR3 for {@link #emit}; null: this log is read-only
   */
  public TdEventLog(
      QuoteProvider quotes,
      Path ccelTable,
      Path ccelData,
      Path runtimeEvents,
      RtmrExtender extender) {
    this.extender = extender;
    this.quotes = Objects.requireNonNull(quotes);
    this.ccelTable = Objects.requireNonNull(ccelTable);
    this.ccelData = Objects.requireNonNull(ccelData);
    this.runtimeEvents = Objects.requireNonNull(runtimeEvents);
  }

  /** The whole log now: CCEL events, then runtime events. */
  public synchronized List<EventLogEntry> read() throws QuoteProviderException {
    List<EventLogEntry> all = new ArrayList<>(firmware());
    all.addAll(runtime(readRuntimeFile()));
    return List.copyOf(all);
  }

  @Override
  public synchronized List<EventLogEntry> runtimeEvents() throws QuoteProviderException {
    return runtime(readRuntimeFile());
  }

  @Override
  public synchronized void emit(String name, byte[] payload) throws QuoteProviderException {
    if (extender == null) {
      throw new QuoteProviderException(
          "this TD event log has no RTMR extender: cannot measure '" + name + "'");
    }
    EventLogEntry e = EventLogEntry.runtime(name, payload);
    extender.extend(3, e.digest());
    try {
      Files.writeString(
          runtimeEvents,
          DstackRuntimeEventFile.line(name, payload) + "\n",
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException ex) {
      // RTMR3 now holds an event the log lacks: this TD's quotes no longer replay until it reboots
      // (fails closed).
      throw new QuoteProviderException(
          "RTMR3 was extended with '"
              + name
              + "' but appending it to "
              + runtimeEvents
              + " failed: "
              + ex.getMessage()
              + " (this TD's event log no longer replays; reboot it)",
          ex);
    }
  }

  @Override
  public synchronized RuntimeEventLog.QuoteWithLog quote(byte[] reportData)
      throws QuoteProviderException {
    String last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      byte[] before = readRuntimeFile();
      List<EventLogEntry> log = new ArrayList<>(firmware());
      log.addAll(runtime(before));
      byte[] quote = quotes.quote(reportData);
      QuotedMeasurements registers;
      try {
        registers = QuotedMeasurements.of(TdxQuote.parse(quote).tdReport());
      } catch (QuoteParseException | RuntimeException e) {
        throw new QuoteProviderException(
            "this TD's quote does not parse as a TD quote: " + e.getMessage(), e);
      }
      try {
        EventLogVerifier.verify(log, registers);
        return new RuntimeEventLog.QuoteWithLog(
            Bytes.copyOf(quote), DstackEventLogCodec.toJson(log));
      } catch (EventLogException e) {
        last = e.getMessage();
        if (Arrays.equals(before, readRuntimeFile())) {
          break; // nothing was appended meanwhile: the log really does not match
        }
      }
    }
    throw new QuoteProviderException(
        "the event log of this TD ("
            + ccelData
            + " + "
            + runtimeEvents
            + ") does not verify against its own quote: "
            + last);
  }

  private List<EventLogEntry> firmware() throws QuoteProviderException {
    if (firmware == null) {
      byte[] table = readFile(ccelTable, CcelEventLog.ACPI_TABLE_BYTES + 1, "ACPI CCEL table");
      byte[] data = readFile(ccelData, CcelEventLog.MAX_LOG_AREA_BYTES + 1, "CCEL log area");
      try {
        // The event data is not what is measured (the digest is; verifiers ignore it), and with it
        // a real CCEL
        // pushes an RA-TLS certificate past JSSE's default 32 KiB handshake message limit: left
        // out, as dstack does.
        firmware =
            CcelEventLog.parse(table, data).stream()
                .map(e -> new EventLogEntry(e.imr(), e.eventType(), e.digest(), "", new byte[0]))
                .toList();
      } catch (EventLogException e) {
        throw new QuoteProviderException(
            "CCEL (" + ccelTable + ", " + ccelData + "): " + e.getMessage(), e);
      }
    }
    return firmware;
  }

  private List<EventLogEntry> runtime(byte[] file) throws QuoteProviderException {
    try {
      return DstackRuntimeEventFile.parse(file);
    } catch (EventLogException e) {
      throw new QuoteProviderException(runtimeEvents + ": " + e.getMessage(), e);
    }
  }

  private byte[] readRuntimeFile() throws QuoteProviderException {
    if (!Files.exists(runtimeEvents)) {
      return new byte[0]; // dstack's guest has not recorded a runtime event yet
    }
    return readFile(runtimeEvents, DstackEventLogCodec.MAX_LOG_BYTES + 1, "runtime event log");
  }

  private static byte[] readFile(Path p, int max, String what) throws QuoteProviderException {
    try (InputStream in = Files.newInputStream(p)) {
      return in.readNBytes(max);
    } catch (NoSuchFileException e) {
      throw new QuoteProviderException(
          "no " + what + " at " + p + " (not a TD, or its firmware publishes no CCEL)", e);
    } catch (IOException e) {
      throw new QuoteProviderException(
          "reading the " + what + " " + p + " failed: " + e.getMessage(), e);
    }
  }
}
