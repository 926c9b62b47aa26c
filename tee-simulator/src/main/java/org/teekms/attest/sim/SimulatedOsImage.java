package org.teekms.attest.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.osimage.AcpiDigests;
import org.teekms.attest.osimage.OsImageException;
import org.teekms.attest.osimage.OsImageMeasurer;
import org.teekms.attest.osimage.RtmrLog;
import org.teekms.attest.osimage.TdHob;
import org.teekms.attest.osimage.TdxImageMeasurement;
import org.teekms.attest.osimage.TdxMeasurementDocument;
import org.teekms.attest.osimage.TdxMeasurements;
import org.teekms.attest.osimage.VmConfig;
import org.teekms.crypto.Bytes;

/**
 * A simulated dstack OS image booted in a simulated VM: a structurally real {@code
 * measurement.tdx.cbor}, {@code sha256sum.txt} and {@code vm_config} (the "lite" TDX form of dstack
 * 0.6), the firmware event log OVMF would write for it (RTMR0-2, ACPI DATA events named as dstack
 * names them), and the MRTD / RTMR0-2 that both produce. The image's content digests (kernel,
 * initrd, firmware) are derived from its name, so two names are two different images; everything
 * else follows {@code docs/os-image-measurement.md}, so {@code OsImageVerifier} accepts a TD booted
 * from it ({@link SimulatedCvm#boot(SimulatedCvm.App, SimulatedOsImage)}) and nothing else.
 */
public final class SimulatedOsImage {
  /**
   * The TDVF section layout (TD HOB witness) of dstack 0.6.0's OVMF, as its measurement document
   * records it.
   */
  static final byte[] DSTACK_060_TD_HOB_WITNESS =
      HexFormat.of().parseHex("80100904000609020b021010");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String name;
  private final long memorySize;
  private final int cpuCount;
  private final String qemuVersion;
  private final String cmdline;
  private final TdxImageMeasurement measurement;
  private final byte[] document;
  private final byte[] checksumFile;
  private final AcpiDigests acpi;

  private SimulatedOsImage(String name, long memorySize, int cpuCount, String qemuVersion) {
    this.name = Objects.requireNonNull(name, "name");
    this.memorySize = memorySize;
    this.cpuCount = cpuCount;
    this.qemuVersion = qemuVersion;
    byte[] rootfs = SimulatedTdx.sha("SIMULATED " + name + " rootfs", "SHA-256");
    this.cmdline =
        "console=ttyS0 init=/init panic=1 dstack.rootfs_hash="
            + HexFormat.of().formatHex(rootfs)
            + " dstack.rootfs_size=536870912 initrd=initrd";
    this.measurement =
        new TdxImageMeasurement(
            Bytes.copyOf(RtmrLog.cmdline(cmdline)),
            Bytes.copyOf(SimulatedTdx.sha("SIMULATED " + name + " kernel", "SHA-384")),
            Bytes.copyOf(SimulatedTdx.sha("SIMULATED " + name + " initrd", "SHA-384")),
            TdxImageMeasurement.OVMF_PRE_202505,
            Bytes.copyOf(SimulatedTdx.sha("SIMULATED " + name + " OVMF single-pass", "SHA-384")),
            Bytes.copyOf(SimulatedTdx.sha("SIMULATED " + name + " OVMF two-pass", "SHA-384")),
            Bytes.copyOf(DSTACK_060_TD_HOB_WITNESS));
    this.document = measurement.encode();
    this.checksumFile =
        (HexFormat.of().formatHex(SimulatedTdx.shaBytes("SHA-256", document))
                + "  "
                + TdxMeasurementDocument.FILENAME
                + "\n"
                + HexFormat.of().formatHex(rootfs)
                + "  rootfs.img.verity\n")
            .getBytes(StandardCharsets.UTF_8);
    this.acpi =
        new AcpiDigests(
            Bytes.copyOf(
                SimulatedTdx.sha("SIMULATED ACPI table loader, " + cpuCount + " CPUs", "SHA-384")),
            Bytes.copyOf(SimulatedTdx.sha("SIMULATED ACPI RSDP", "SHA-384")),
            Bytes.copyOf(
                SimulatedTdx.sha("SIMULATED ACPI tables, " + cpuCount + " CPUs", "SHA-384")));
    try {
      OsImageMeasurer.checkMemorySize(memorySize);
    } catch (OsImageException e) {
      throw new IllegalArgumentException(e.getMessage());
    }
  }

  /** The image {@code name} in a VM with 4 GiB, 2 CPUs, QEMU 9.2.1. */
  public static SimulatedOsImage of(String name) {
    return new SimulatedOsImage(name, 4L << 30, 2, "9.2.1");
  }

  /**
   * The same image in a VM of another size (2 GiB exactly, or at least 2.75 GiB: what the document
   * supports).
   */
  public SimulatedOsImage withVm(long memorySize, int cpuCount, String qemuVersion) {
    return new SimulatedOsImage(name, memorySize, cpuCount, qemuVersion);
  }

  public String name() {
    return name;
  }

  /** The decoded measurement document. */
  public TdxImageMeasurement measurement() {
    return measurement;
  }

  /** {@code measurement.tdx.cbor}. */
  public byte[] document() {
    return document.clone();
  }

  /** {@code sha256sum.txt}. */
  public byte[] checksumFile() {
    return checksumFile.clone();
  }

  /** The OS image hash: SHA-256 of the checksum file. */
  public Bytes osImageHash() {
    return Bytes.copyOf(SimulatedTdx.shaBytes("SHA-256", checksumFile));
  }

  public AcpiDigests acpiDigests() {
    return acpi;
  }

  /**
   * The vm_config a dstack 0.6 host writes for this VM ("lite" variant, with {@code
   * tdx_measurement}).
   */
  public byte[] vmConfigJson() {
    ObjectNode o = JSON.createObjectNode();
    o.put("spec_version", 1);
    o.put("os_image_hash", osImageHash().hex());
    o.put("cpu_count", cpuCount);
    o.put("memory_size", memorySize);
    o.put("qemu_version", qemuVersion);
    o.put("pci_hole64_size", 0);
    o.put("hugepages", false);
    o.put("num_gpus", 0);
    o.put("num_nvswitches", 0);
    o.put("hotplug_off", false);
    o.put("image", "dstack-sim-" + name);
    o.put("host_share_mode", "9p");
    o.put("ovmf_variant", TdxImageMeasurement.OVMF_PRE_202505);
    o.put("tdx_attestation_variant", "lite");
    ObjectNode m = o.putObject("tdx_measurement");
    m.put("checksum_file", Base64.getEncoder().encodeToString(checksumFile));
    m.put("measurement", Base64.getEncoder().encodeToString(document));
    try {
      return JSON.writeValueAsBytes(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("serializing a JSON tree cannot fail", e);
    }
  }

  /** MRTD and RTMR0-2 of a TD booted from this image in this VM. */
  public TdxMeasurements measurements() {
    try {
      return OsImageMeasurer.measure(VmConfig.parse(vmConfigJson()), measurement, acpi);
    } catch (OsImageException e) {
      throw new IllegalStateException(
          "the simulated image is consistent by construction: " + e.getMessage(), e);
    }
  }

  /**
   * The firmware part of the event log in OVMF's order (RTMR0 events, the kernel, BootOrder and
   * Boot0000, the boot-service events, command line and initrd); payloads are left empty as dstack
   * 0.6 guests leave them, except the ACPI DATA marker. Replaying it gives {@link #measurements()}'
   * RTMR0-2.
   */
  public List<EventLogEntry> firmwareEvents() {
    byte[] hob;
    try {
      hob = TdHob.digest(DSTACK_060_TD_HOB_WITNESS, memorySize);
    } catch (OsImageException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
    List<byte[]> r0 = RtmrLog.rtmr0(hob, acpi);
    List<byte[]> r1 = RtmrLog.rtmr1(measurement.kernelAuthenticode().toByteArray());
    List<byte[]> r2 =
        RtmrLog.rtmr2(
            measurement.cmdlineSha384().toByteArray(), measurement.initrdSha384().toByteArray());
    long[] r0Types = {
      0x8000000BL,
      0x8000000AL,
      0x80000001L,
      0x80000001L,
      0x80000001L,
      0x80000001L,
      0x80000001L,
      4,
      10,
      10,
      10,
      0x80000002L,
      0x80000002L
    };
    String[] acpiNames = {AcpiDigests.LOADER, AcpiDigests.RSDP, AcpiDigests.TABLES};
    byte[] acpiData = "ACPI DATA".getBytes(StandardCharsets.US_ASCII);
    List<EventLogEntry> out = new ArrayList<>();
    for (int i = 0; i <= 10; i++) {
      boolean isAcpi = i >= 8;
      out.add(
          new EventLogEntry(
              0,
              r0Types[i],
              r0.get(i),
              isAcpi ? acpiNames[i - 8] : "",
              isAcpi ? acpiData : new byte[0]));
    }
    out.add(new EventLogEntry(1, 0x80000003L, r1.get(0), "", new byte[0]));
    out.add(new EventLogEntry(0, r0Types[11], r0.get(11), "", new byte[0]));
    out.add(new EventLogEntry(0, r0Types[12], r0.get(12), "", new byte[0]));
    out.add(new EventLogEntry(1, 0x80000007L, r1.get(1), "", new byte[0]));
    out.add(new EventLogEntry(1, 4, r1.get(2), "", new byte[0]));
    out.add(new EventLogEntry(2, 6, r2.get(0), "", new byte[0]));
    out.add(new EventLogEntry(2, 6, r2.get(1), "", new byte[0]));
    out.add(new EventLogEntry(1, 0x80000007L, r1.get(3), "", new byte[0]));
    out.add(new EventLogEntry(1, 0x80000007L, r1.get(4), "", new byte[0]));
    return List.copyOf(out);
  }

  /**
   * A TD on {@code platform} whose MRTD is this image's (boot it with {@link
   * SimulatedCvm#boot(SimulatedCvm.App, SimulatedOsImage)}).
   */
  public SimulatedCvm newCvm(SimulatedTdx platform, boolean debug) {
    return platform.newCvm(measurements().mrtd().toByteArray(), debug);
  }
}
