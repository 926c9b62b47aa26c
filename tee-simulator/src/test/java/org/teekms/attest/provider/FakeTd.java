package org.teekms.attest.provider;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.teekms.attest.Fixtures;
import org.teekms.attest.eventlog.CcelEventLog;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.eventlog.DstackRuntimeEventFile;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.RuntimeEventDigest;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;

/**
 * A TD's kernel interfaces as a directory tree, for tests of the production code paths: the ACPI
 * CCEL table and log area (the real COS-113 CCEL fixture), dstack's runtime event log file, and a
 * configfs-tsm report directory whose quotes this class answers (as {@link
 * ConfigfsTsmQuoteProvider.Io}) with a quote signed by a {@link SimulatedTdx} platform over the
 * registers the "hardware" holds: RTMR0-2 as the CCEL measured them, RTMR3 as {@link #measure}
 * extended it. {@link #appendUnmeasured} writes a log line without extending anything (a lying
 * log).
 */
public final class FakeTd implements ConfigfsTsmQuoteProvider.Io, RtmrExtender {
  public final Path ccelTable;
  public final Path ccelData;
  public final Path runtimeEvents;
  public final Path configfs;
  private final SimulatedTdx platform;
  private final byte[] mrTd;
  private final List<EventLogEntry> firmware;
  private final List<byte[]> rtmr3 = new ArrayList<>();

  public FakeTd(Path dir, SimulatedTdx platform) throws Exception {
    this.platform = platform;
    this.mrTd = new byte[48];
    ccelTable = dir.resolve("sys/firmware/acpi/tables/CCEL");
    ccelData = dir.resolve("sys/firmware/acpi/tables/data/CCEL");
    runtimeEvents = dir.resolve("run/log/dstack/runtime_events.log");
    configfs = dir.resolve("sys/kernel/config/tsm/report");
    Files.createDirectories(ccelData.getParent());
    Files.createDirectories(runtimeEvents.getParent());
    Files.createDirectories(configfs);
    Files.deleteIfExists(runtimeEvents); // a fresh boot
    Files.write(ccelTable, Fixtures.bytes("go-tdx-guest/ccel/ccel_table.dat"));
    Files.write(ccelData, Fixtures.bytes("go-tdx-guest/ccel/ccel_data.dat"));
    firmware = CcelEventLog.parse(Files.readAllBytes(ccelTable), Files.readAllBytes(ccelData));
  }

  /**
   * dstack's boot sequence for {@code app}, measured and logged (no OS image hash, as in {@link
   * SimulatedCvm#boot}).
   */
  public FakeTd boot(SimulatedCvm.App app) throws IOException {
    measure(DstackBootSequence.SYSTEM_PREPARING, new byte[0]);
    measure(DstackBootSequence.APP_ID, app.appId().toByteArray());
    measure(DstackBootSequence.COMPOSE_HASH, app.composeHash().toByteArray());
    measure(DstackBootSequence.INSTANCE_ID, app.instanceId().toByteArray());
    measure(DstackBootSequence.BOOT_MR_DONE, new byte[0]);
    if (app.osImageHash() != null) {
      measure(DstackBootSequence.OS_IMAGE_HASH, app.osImageHash().toByteArray());
    }
    measure(DstackBootSequence.KEY_PROVIDER, app.keyProvider().getBytes(StandardCharsets.UTF_8));
    measure(DstackBootSequence.SYSTEM_READY, new byte[0]);
    return this;
  }

  /** What dstack's guest does for a runtime event: extend RTMR3, then append the line. */
  public synchronized void measure(String name, byte[] payload) throws IOException {
    rtmr3.add(RuntimeEventDigest.v1(name, payload));
    appendUnmeasured(name, payload);
  }

  /**
   * The "hardware" side of an RTMR3 extension (what sysfs tsm-mr does); the caller logs the event
   * itself.
   */
  @Override
  public synchronized void extend(int index, byte[] sha384Digest) {
    if (index != 3 || sha384Digest.length != 48) {
      throw new IllegalArgumentException("the fake TD extends RTMR3 with 48-byte digests only");
    }
    rtmr3.add(sha384Digest.clone());
  }

  public synchronized void appendUnmeasured(String name, byte[] payload) throws IOException {
    Files.writeString(
        runtimeEvents,
        DstackRuntimeEventFile.line(name, payload) + "\n",
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  /** A quote over the current registers, as the TDX module would sign it. */
  public synchronized byte[] quoteNow(byte[] reportData) {
    SimulatedCvm cpu = platform.newCvm(mrTd, false);
    for (EventLogEntry e : firmware) {
      cpu.extend(e.imr(), e.digest());
    }
    for (byte[] d : rtmr3) {
      cpu.extend(3, d);
    }
    return cpu.quote(reportData);
  }

  @Override
  public void mkdir(Path dir) throws IOException {
    Files.createDirectory(dir);
    Files.writeString(dir.resolve("provider"), "tdx_guest\n");
    Files.writeString(dir.resolve("generation"), "0\n");
  }

  @Override
  public byte[] read(Path file, int maxBytes) throws IOException {
    return FILES.read(file, maxBytes);
  }

  @Override
  public void write(Path file, byte[] content) throws IOException {
    FILES.write(file, content);
    if (file.getFileName().toString().equals("inblob")) {
      Files.write(file.resolveSibling("outblob"), quoteNow(content));
      long g = Long.parseLong(Files.readString(file.resolveSibling("generation")).trim());
      Files.writeString(file.resolveSibling("generation"), (g + 1) + "\n");
    }
  }

  @Override
  public void rmdir(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** The configfs-tsm quote provider over this tree. */
  public ConfigfsTsmQuoteProvider quoteProvider() {
    return new ConfigfsTsmQuoteProvider(configfs, "tdx_guest", this);
  }

  /** This TD's event log source over this tree. */
  public TdEventLog eventLog() {
    return new TdEventLog(quoteProvider(), ccelTable, ccelData, runtimeEvents, this);
  }
}
