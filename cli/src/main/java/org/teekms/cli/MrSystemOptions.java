package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.teekms.attest.tdx.MrSystem;
import org.teekms.attest.tdx.TdReport;
import org.teekms.crypto.Bytes;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code --mr-system HEX} (repeatable): the golden OS measurements the user trusts. The app
 * identity a CVM shows (app id, compose hash, instance, OS image hash in RTMR3) is written by its
 * own OS; it means something only when that OS is one the user trusts, i.e. when the quote's
 * mrSystem = SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2), which the TDX module measured, is one of these
 * values (docs/security.md "OS image").
 */
public final class MrSystemOptions {

  @Option(
      names = "--mr-system",
      paramLabel = "HEX32",
      description =
          "A golden mrSystem, SHA-256(MRTD||RTMR0||RTMR1||RTMR2), of an OS image you trust (repeatable; "
              + "e.g. from `teekms gov show-registry` osImageMeasurements or a reference boot).")
  List<String> mrSystems = List.of();

  /** The parsed values; a value that is not 32 bytes of hex is a usage error. */
  Set<Bytes> golden(CommandSpec spec) {
    Set<Bytes> out = new LinkedHashSet<>();
    for (String v : mrSystems) {
      String h = v.startsWith("0x") || v.startsWith("0X") ? v.substring(2) : v;
      byte[] b;
      try {
        b = HexFormat.of().parseHex(h);
      } catch (IllegalArgumentException e) {
        b = null;
      }
      if (b == null || b.length != 32) {
        throw new ParameterException(
            spec.commandLine(), "--mr-system must be 32 bytes of hex, got '" + v + "'");
      }
      out.add(Bytes.copyOf(b));
    }
    return out;
  }

  /**
   * Adds {@code "osMeasurement": {"mrSystem", "osImageHash", "goldenValues", "proven", "by"}} and
   * returns the problem as {code, message} when the OS is not proven: {@code OS_IMAGE_NOT_PROVEN}
   * when no golden value was given and {@code required}, {@code OS_IMAGE_MEASUREMENT_MISMATCH} when
   * values were given and none matches.
   */
  static Optional<String[]> put(
      ObjectNode out, TdReport td, String osImageHash, Set<Bytes> golden, boolean required) {
    Bytes mrSystem = MrSystem.of(td);
    boolean proven = golden.contains(mrSystem);
    ObjectNode o = out.putObject("osMeasurement");
    o.put("mrSystem", mrSystem.hex());
    o.put("osImageHash", osImageHash);
    o.put("goldenValues", golden.size());
    o.put("proven", proven);
    o.put("by", proven ? "mr-system" : null);
    if (proven) {
      return Optional.empty();
    }
    String what =
        (osImageHash == null ? "the OS" : "OS image " + osImageHash)
            + " (mrSystem "
            + mrSystem.hex()
            + ": "
            + MrSystem.describe(td)
            + ")";
    if (!golden.isEmpty()) {
      return Optional.of(
          new String[] {
            "OS_IMAGE_MEASUREMENT_MISMATCH",
            what + " is none of the " + golden.size() + " golden --mr-system value(s)"
          });
    }
    if (required) {
      return Optional.of(
          new String[] {
            "OS_IMAGE_NOT_PROVEN",
            what
                + " is not proven: pass its golden value with "
                + "--mr-system, else the app identity in RTMR3 is only what that OS claims"
          });
    }
    return Optional.empty();
  }
}
