package org.teekms.attest.gpu;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.teekms.crypto.Bytes;

/**
 * A parsed NVIDIA Hopper attestation report: the SPDM 1.1 GET_MEASUREMENTS request followed by the
 * signed MEASUREMENTS response (layout: {@code docs/gpu-attestation.md}). Produced only by {@link
 * HopperReportParser}, so every instance has consistent lengths; byte arrays are copied out on
 * access.
 *
 * @param requestNonce the 32-byte nonce of the request: the value bound to the verifier's session
 * @param blocks the measurement blocks in report order
 * @param responderNonce the 32-byte nonce the GPU added to its response
 * @param opaqueFields the opaque-data TLV fields in report order
 * @param signedBytes everything the signature covers: request ‖ response up to the signature
 * @param signature the raw 96-byte P-384 signature r ‖ s
 * @param trailingBytes bytes after the signature that the parser ignored
 */
public record HopperReport(
    Bytes requestNonce,
    int requestSlotId,
    List<MeasurementBlock> blocks,
    Bytes responderNonce,
    List<OpaqueField> opaqueFields,
    Bytes signedBytes,
    Bytes signature,
    int trailingBytes) {

  /** Opaque-data field types (nvtrust {@code OPAQUE_FIELD_ID_*}). */
  public static final int DRIVER_VERSION = 3;

  public static final int VBIOS_VERSION = 6;
  public static final int NVDEC0_STATUS = 11;
  public static final int CHIP_SKU = 15;
  public static final int PROJECT = 17;
  public static final int PROJECT_SKU = 18;
  public static final int FWID = 20;

  public HopperReport {
    Objects.requireNonNull(requestNonce, "requestNonce");
    Objects.requireNonNull(responderNonce, "responderNonce");
    Objects.requireNonNull(signedBytes, "signedBytes");
    Objects.requireNonNull(signature, "signature");
    blocks = List.copyOf(blocks);
    opaqueFields = List.copyOf(opaqueFields);
  }

  /**
   * One SPDM measurement block carrying a DMTF measurement value. {@code index} is the 1-based SPDM
   * index.
   */
  public record MeasurementBlock(int index, int valueType, Bytes value) {}

  /** One opaque-data TLV field. */
  public record OpaqueField(int type, Bytes value) {}

  /** The first opaque field of this type. */
  public Optional<byte[]> opaque(int type) {
    return opaqueFields.stream()
        .filter(f -> f.type() == type)
        .findFirst()
        .map(f -> f.value().toByteArray());
  }

  /** The driver version string ({@code "550.90.07"}). Required by the parser. */
  public String driverVersion() {
    return ascii(opaque(DRIVER_VERSION).orElseThrow());
  }

  /**
   * The VBIOS version as nvtrust formats it ({@code "96.00.9f.00.01"}): the 8 bytes read
   * little-endian as 16 hex digits v, then v[8:16] ‖ v[6:8] split into 2-digit groups joined by
   * dots.
   */
  public String vbiosVersion() {
    byte[] b = opaque(VBIOS_VERSION).orElseThrow();
    StringBuilder v = new StringBuilder();
    for (int i = b.length - 1; i >= 0; i--) {
      v.append(String.format("%02x", b[i] & 0xff));
    }
    String t = v.substring(8, 16) + v.substring(6, 8);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < t.length(); i += 2) {
      if (i > 0) {
        out.append('.');
      }
      out.append(t, i, i + 2);
    }
    return out.toString();
  }

  /**
   * The FWID of the firmware that produced the report, when the report carries one (2024+
   * firmware).
   */
  public Optional<byte[]> fwid() {
    return opaque(FWID);
  }

  public Optional<String> project() {
    return opaque(PROJECT).map(HopperReport::ascii);
  }

  public Optional<String> projectSku() {
    return opaque(PROJECT_SKU).map(HopperReport::ascii);
  }

  public Optional<String> chipSku() {
    return opaque(CHIP_SKU).map(HopperReport::ascii);
  }

  /** The measurement block with this 1-based SPDM index. */
  public Optional<MeasurementBlock> block(int spdmIndex) {
    return blocks.stream().filter(b -> b.index() == spdmIndex).findFirst();
  }

  /** ASCII text up to the first NUL. */
  static String ascii(byte[] value) {
    int end = 0;
    while (end < value.length && value[end] != 0) {
      end++;
    }
    return new String(value, 0, end, StandardCharsets.US_ASCII);
  }

  @Override
  public String toString() {
    return "HopperReport[nonce="
        + requestNonce.hex()
        + ", blocks="
        + blocks.size()
        + ", driver="
        + opaque(DRIVER_VERSION).map(HopperReport::ascii).orElse("?")
        + ", trailing="
        + trailingBytes
        + "]";
  }
}
