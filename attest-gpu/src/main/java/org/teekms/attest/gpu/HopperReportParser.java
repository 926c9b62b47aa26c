package org.teekms.attest.gpu;

import static org.teekms.attest.gpu.GpuAttestationException.Reason.MALFORMED_REPORT;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.teekms.crypto.Bytes;

/**
 * Parses a Hopper attestation report (SPDM GET_MEASUREMENTS request ‖ MEASUREMENTS response). Every
 * length comes from the declared fields and is checked against the bytes present; anything
 * inconsistent is a {@link GpuAttestationException} with reason {@code MALFORMED_REPORT} naming the
 * offset. Bytes after the signature are tolerated and counted: NVML hands out the report in a fixed
 * 8 KiB buffer and collectors often keep the zero padding.
 */
public final class HopperReportParser {
  /** Upper bound on a whole report, padding included (NVML's buffer is 8 KiB). */
  public static final int MAX_REPORT_BYTES = 64 * 1024;

  public static final int REQUEST_LENGTH = 37;
  public static final int NONCE_LENGTH = 32;
  public static final int SIGNATURE_LENGTH = 96;

  static final int SPDM_VERSION_1_1 = 0x11;
  static final int GET_MEASUREMENTS = 0xE0;
  static final int MEASUREMENTS = 0x60;
  static final int DMTF_MEASUREMENT_SPEC = 0x01;

  /**
   * Opaque field types defined by NVIDIA for Hopper and later (1..25, 32..36); anything else is
   * rejected.
   */
  private static final Set<Integer> KNOWN_OPAQUE_TYPES;

  static {
    Set<Integer> known = new HashSet<>();
    for (int t = 1; t <= 25; t++) {
      known.add(t);
    }
    for (int t = 32; t <= 36; t++) {
      known.add(t);
    }
    KNOWN_OPAQUE_TYPES = Set.copyOf(known);
  }

  private HopperReportParser() {}

  /**
   * Parses a report given as hex text (the format of nvtrust's sample files); whitespace and a 0x
   * prefix are ignored.
   */
  public static HopperReport parseHex(String hex) throws GpuAttestationException {
    String clean = hex.replaceAll("\\s+", "");
    if (clean.startsWith("0x") || clean.startsWith("0X")) {
      clean = clean.substring(2);
    }
    if (clean.length() > 2 * MAX_REPORT_BYTES) {
      throw new GpuAttestationException(
          MALFORMED_REPORT, "report is larger than " + MAX_REPORT_BYTES + " bytes");
    }
    byte[] bytes;
    try {
      bytes = HexFormat.of().parseHex(clean);
    } catch (IllegalArgumentException e) {
      throw new GpuAttestationException(
          MALFORMED_REPORT, "report is not valid hex: " + e.getMessage());
    }
    return parse(bytes);
  }

  public static HopperReport parse(byte[] report) throws GpuAttestationException {
    if (report.length > MAX_REPORT_BYTES) {
      throw new GpuAttestationException(
          MALFORMED_REPORT,
          "report is " + report.length + " bytes, more than the limit of " + MAX_REPORT_BYTES);
    }
    Reader r = new Reader(report);
    // GET_MEASUREMENTS request (SPDM 1.1): version, code, param1 (signature requested), param2 (all
    // blocks), nonce, slot.
    r.expectByte(SPDM_VERSION_1_1, "request SPDMVersion (SPDM 1.1)");
    r.expectByte(GET_MEASUREMENTS, "request code (GET_MEASUREMENTS)");
    r.expectByte(0x01, "request Param1 (signature requested)");
    r.expectByte(0xFF, "request Param2 (all measurement blocks)");
    byte[] requestNonce = r.bytes(NONCE_LENGTH, "request nonce");
    int slot = r.u8("request SlotIDParam");
    if (slot > 7) {
      throw r.error(
          REQUEST_LENGTH - 1, "request SlotIDParam " + slot + " is not a slot number 0..7");
    }

    // MEASUREMENTS response.
    r.expectByte(SPDM_VERSION_1_1, "response SPDMVersion (SPDM 1.1)");
    r.expectByte(MEASUREMENTS, "response code (MEASUREMENTS)");
    r.u8("response Param1");
    r.u8("response Param2");
    int blockCount = r.u8("NumberOfBlocks");
    if (blockCount == 0) {
      throw r.error(r.pos - 1, "NumberOfBlocks is 0");
    }
    int recordLength = r.u24("MeasurementRecordLength");
    int recordStart = r.pos;
    r.require(recordLength, "measurement record");
    List<HopperReport.MeasurementBlock> blocks = new ArrayList<>(blockCount);
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < blockCount; i++) {
      int blockStart = r.pos;
      if (blockStart - recordStart + 4 > recordLength) {
        throw r.error(
            blockStart, "block " + i + " header runs past MeasurementRecordLength " + recordLength);
      }
      int index = r.u8("block index");
      int spec = r.u8("block MeasurementSpecification");
      if (spec != DMTF_MEASUREMENT_SPEC) {
        throw r.error(
            blockStart + 1,
            "block " + index + " MeasurementSpecification " + spec + " is not DMTF (1)");
      }
      int size = r.u16("block MeasurementSize");
      if (r.pos - recordStart + size > recordLength) {
        throw r.error(
            blockStart + 2,
            "block " + index + " size " + size + " runs past MeasurementRecordLength");
      }
      if (size < 3) {
        throw r.error(
            blockStart + 2,
            "block " + index + " size " + size + " is too small for a DMTF measurement");
      }
      int valueType = r.u8("DMTFSpecMeasurementValueType");
      int valueSize = r.u16("DMTFSpecMeasurementValueSize");
      if (valueSize + 3 != size) {
        throw r.error(
            blockStart + 5,
            "block " + index + " value size " + valueSize + " does not match block size " + size);
      }
      byte[] value = r.bytes(valueSize, "measurement value");
      if (index == 0 || !seen.add(index)) {
        throw r.error(
            blockStart,
            "block index " + index + (index == 0 ? " is not 1-based" : " appears twice"));
      }
      blocks.add(new HopperReport.MeasurementBlock(index, valueType, Bytes.copyOf(value)));
    }
    if (r.pos - recordStart != recordLength) {
      throw r.error(
          r.pos,
          "measurement blocks use "
              + (r.pos - recordStart)
              + " bytes but MeasurementRecordLength is "
              + recordLength);
    }

    byte[] responderNonce = r.bytes(NONCE_LENGTH, "response nonce");
    int opaqueLength = r.u16("OpaqueLength");
    int opaqueStart = r.pos;
    r.require(opaqueLength, "opaque data");
    List<HopperReport.OpaqueField> fields = new ArrayList<>();
    Set<Integer> types = new HashSet<>();
    while (r.pos - opaqueStart < opaqueLength) {
      int fieldStart = r.pos;
      if (opaqueLength - (fieldStart - opaqueStart) < 4) {
        throw r.error(fieldStart, "opaque field header runs past OpaqueLength " + opaqueLength);
      }
      int type = r.u16("opaque DataType");
      int size = r.u16("opaque DataSize");
      if (!KNOWN_OPAQUE_TYPES.contains(type)) {
        throw r.error(fieldStart, "unknown opaque field type " + type);
      }
      if (!types.add(type)) {
        throw r.error(fieldStart, "opaque field type " + type + " appears twice");
      }
      if (r.pos - opaqueStart + size > opaqueLength) {
        throw r.error(
            fieldStart + 2,
            "opaque field " + type + " size " + size + " runs past OpaqueLength " + opaqueLength);
      }
      fields.add(new HopperReport.OpaqueField(type, Bytes.copyOf(r.bytes(size, "opaque value"))));
    }
    int signedLength = r.pos;
    byte[] signature = r.bytes(SIGNATURE_LENGTH, "signature");
    HopperReport parsed =
        new HopperReport(
            Bytes.copyOf(requestNonce),
            slot,
            blocks,
            Bytes.copyOf(responderNonce),
            fields,
            Bytes.copyOf(Arrays.copyOfRange(report, 0, signedLength)),
            Bytes.copyOf(signature),
            report.length - r.pos);
    requireField(parsed, HopperReport.DRIVER_VERSION, -1, "DRIVER_VERSION");
    requireField(parsed, HopperReport.VBIOS_VERSION, 8, "VBIOS_VERSION");
    if (parsed.fwid().isPresent() && parsed.fwid().get().length != 48) {
      throw new GpuAttestationException(
          MALFORMED_REPORT, "FWID field is " + parsed.fwid().get().length + " bytes, not 48");
    }
    return parsed;
  }

  private static void requireField(HopperReport report, int type, int size, String name)
      throws GpuAttestationException {
    byte[] v =
        report
            .opaque(type)
            .orElseThrow(
                () ->
                    new GpuAttestationException(
                        MALFORMED_REPORT,
                        "opaque data has no " + name + " field (type " + type + ")"));
    if (size >= 0 && v.length != size) {
      throw new GpuAttestationException(
          MALFORMED_REPORT, name + " field is " + v.length + " bytes, not " + size);
    }
    if (size < 0 && HopperReport.ascii(v).isEmpty()) {
      throw new GpuAttestationException(MALFORMED_REPORT, name + " field is empty");
    }
  }

  /** Little-endian cursor that fails with the offset of the first byte it could not read. */
  private static final class Reader {
    private final byte[] b;
    int pos;

    Reader(byte[] b) {
      this.b = b;
    }

    void require(int n, String what) throws GpuAttestationException {
      if (n < 0 || b.length - pos < n) {
        throw error(
            pos,
            what
                + " needs "
                + n
                + " bytes but only "
                + (b.length - pos)
                + " remain (report is "
                + b.length
                + " bytes)");
      }
    }

    int u8(String what) throws GpuAttestationException {
      require(1, what);
      return b[pos++] & 0xff;
    }

    int u16(String what) throws GpuAttestationException {
      require(2, what);
      int v = (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8;
      pos += 2;
      return v;
    }

    int u24(String what) throws GpuAttestationException {
      require(3, what);
      int v = (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8 | (b[pos + 2] & 0xff) << 16;
      pos += 3;
      return v;
    }

    byte[] bytes(int n, String what) throws GpuAttestationException {
      require(n, what);
      byte[] out = Arrays.copyOfRange(b, pos, pos + n);
      pos += n;
      return out;
    }

    void expectByte(int expected, String what) throws GpuAttestationException {
      int at = pos;
      int v = u8(what);
      if (v != expected) {
        throw error(
            at,
            what
                + " is 0x"
                + Integer.toHexString(v)
                + ", expected 0x"
                + Integer.toHexString(expected));
      }
    }

    GpuAttestationException error(int offset, String message) {
      return new GpuAttestationException(MALFORMED_REPORT, "at offset " + offset + ": " + message);
    }
  }
}
