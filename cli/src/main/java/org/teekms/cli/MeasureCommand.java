package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.EventLogException;
import org.teekms.attest.osimage.AcpiDigests;
import org.teekms.attest.osimage.OsImageException;
import org.teekms.attest.osimage.OsImageFailure;
import org.teekms.attest.osimage.OsImageMeasurer;
import org.teekms.attest.osimage.TdxImageMeasurement;
import org.teekms.attest.osimage.VmConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms measure --vm-config FILE [--event-log FILE]}: the MRTD and RTMR0-2 a TD booted from
 * the vm_config's OS image must have (docs/os-image-measurement.md). RTMR0 also needs the three
 * ACPI DATA digests of the TD's event log; without {@code --event-log} it is null and {@code
 * "missing"} says so. Exit 0 computed, 1 the inputs do not yield measurements (with {@code
 * "failure"} and {@code "error"}), 2 usage error.
 */
@Command(
    name = "measure",
    mixinStandardHelpOptions = true,
    description =
        "Print the expected MRTD and RTMR0-2 of a dstack OS image from its vm_config (tdx_measurement "
            + "document) and, for RTMR0, the event log's ACPI digests.")
public final class MeasureCommand implements Callable<Integer> {
  private static final long MAX_FILE_BYTES = 2 * 1024 * 1024;

  @Spec CommandSpec spec;

  @Option(
      names = "--vm-config",
      required = true,
      paramLabel = "FILE",
      description =
          "dstack vm_config JSON with tdx_measurement {checksum_file, measurement} (base64).")
  Path vmConfig;

  @Option(
      names = "--event-log",
      paramLabel = "FILE",
      description = "dstack JSON event log of the TD: its RTMR0 ACPI DATA digests give RTMR0.")
  Path eventLog;

  @Override
  public Integer call() throws Exception {
    byte[] vmBytes = read(vmConfig, "--vm-config");
    List<EventLogEntry> log = null;
    if (eventLog != null) {
      try {
        log = DstackEventLogCodec.parse(read(eventLog, "--event-log"));
      } catch (EventLogException e) {
        throw new ParameterException(
            spec.commandLine(), "--event-log " + eventLog + ": " + e.getMessage());
      }
    }
    ObjectNode out = VerifyQuoteCommand.JSON.createObjectNode();
    int exit;
    try {
      VmConfig vm = VmConfig.parse(vmBytes);
      out.put("osImageHash", vm.osImageHash().hex());
      if (vm.tdxMeasurement() == null) {
        throw new OsImageException(
            OsImageFailure.MEASUREMENT_DOCUMENT_MISSING,
            "vm_config has no tdx_measurement document");
      }
      vm.tdxMeasurement().check(vm.osImageHash().toByteArray());
      TdxImageMeasurement image = TdxImageMeasurement.decode(vm.tdxMeasurement().measurement());
      OsImageMeasurer.checkMemorySize(vm.memorySize());
      ObjectNode expected = out.putObject("expected");
      expected.put("mrtd", OsImageMeasurer.mrtd(vm, image).hex());
      if (log == null) {
        expected.putNull("rtmr0");
      } else {
        expected.put(
            "rtmr0", OsImageMeasurer.rtmr0(vm, image, AcpiDigests.fromEventLog(log)).hex());
      }
      expected.put("rtmr1", OsImageMeasurer.rtmr1(image).hex());
      expected.put("rtmr2", OsImageMeasurer.rtmr2(image).hex());
      if (log == null) {
        out.put(
            "missing",
            "RTMR0 needs the three RTMR0 ACPI DATA digests (acpi-loader, acpi-rsdp, acpi-tables) "
                + "of the TD's event log: give --event-log");
      }
      exit = 0;
    } catch (OsImageException e) {
      out.remove("expected");
      out.putNull("expected");
      out.put("failure", e.failure().name());
      out.put("error", e.failure() + ": " + e.getMessage());
      exit = 1;
    }
    spec.commandLine()
        .getOut()
        .println(VerifyQuoteCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    spec.commandLine().getOut().flush();
    return exit;
  }

  private byte[] read(Path file, String option) {
    try {
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw new ParameterException(
            spec.commandLine(), option + " " + file + " is larger than " + MAX_FILE_BYTES);
      }
      return Files.readAllBytes(file);
    } catch (java.io.IOException e) {
      throw new ParameterException(spec.commandLine(), option + " " + file + " cannot be read");
    }
  }
}
