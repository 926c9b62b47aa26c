package org.teekms.attest.osimage;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Set;
import org.teekms.crypto.Bytes;

/**
 * dstack's {@code vm_config} (dstack-types {@code VmConfig}): what the host says about the VM it
 * launched. Nothing in it is trusted; {@link OsImageVerifier} uses it only to compute measurements
 * the quote must then match.
 *
 * <p>Parsing is strict: a JSON object of at most {@value #MAX_BYTES} bytes, no duplicate keys, only
 * the fields below (dstack ignores unknown fields; tee-kms refuses them, so a new dstack field
 * fails closed until it is known), each with its JSON type and range. Absent fields take dstack's
 * defaults. {@code gcp_measurement} and {@code aws_measurement} (other platforms' documents) must
 * be absent or null.
 */
public record VmConfig(
    Bytes osImageHash,
    long cpuCount,
    long memorySize,
    Boolean qemuSinglePassAddPages,
    Boolean pic,
    String qemuVersion,
    long pciHole64Size,
    boolean hugepages,
    long numGpus,
    long numNvswitches,
    long numNics,
    long numVerityVolumes,
    boolean swtpm,
    boolean hotplugOff,
    String image,
    String hostShareMode,
    String ovmfVariant,
    String tdxAttestationVariant,
    TdxMeasurementDocument tdxMeasurement) {

  public static final int MAX_BYTES = 256 * 1024;
  private static final long U32 = 0xFFFF_FFFFL;
  private static final int MAX_TEXT = 256;
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final Set<String> FIELDS =
      Set.of(
          "spec_version",
          "os_image_hash",
          "cpu_count",
          "memory_size",
          "qemu_single_pass_add_pages",
          "pic",
          "qemu_version",
          "pci_hole64_size",
          "hugepages",
          "num_gpus",
          "num_nvswitches",
          "num_nics",
          "num_verity_volumes",
          "swtpm",
          "hotplug_off",
          "image",
          "host_share_mode",
          "ovmf_variant",
          "tdx_attestation_variant",
          "tdx_measurement",
          "gcp_measurement",
          "aws_measurement");

  /**
   * Parses the vm_config JSON (UTF-8); every problem is a {@code VM_CONFIG_INVALID} naming the
   * field.
   */
  public static VmConfig parse(byte[] json) throws OsImageException {
    if (json.length > MAX_BYTES) {
      throw invalid("vm_config is " + json.length + " bytes, limit " + MAX_BYTES);
    }
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException | RuntimeException e) {
      throw invalid("vm_config is not valid JSON");
    }
    if (root == null || !root.isObject()) {
      throw invalid("vm_config must be a JSON object");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!FIELDS.contains(f)) {
        throw invalid("vm_config has unknown field '" + f + "'");
      }
    }
    for (String other : new String[] {"gcp_measurement", "aws_measurement"}) {
      if (root.has(other) && !root.get(other).isNull()) {
        throw invalid(
            "vm_config." + other + " is another platform's document; only TDX is verified here");
      }
    }
    uint(root, "spec_version", U32, 0);
    JsonNode hashNode = root.get("os_image_hash");
    if (hashNode == null || !hashNode.isTextual()) {
      throw invalid("vm_config.os_image_hash must be a hex string");
    }
    byte[] hash;
    try {
      hash = HexFormat.of().parseHex(hashNode.textValue());
    } catch (IllegalArgumentException e) {
      throw invalid("vm_config.os_image_hash is not valid hex");
    }
    if (hash.length != 32) {
      throw invalid("vm_config.os_image_hash is " + hash.length + " bytes, expected 32");
    }
    String ovmf = optionalText(root, "ovmf_variant");
    if (ovmf != null && !ovmf.equals(TdxImageMeasurement.OVMF_PRE_202505)) {
      throw invalid("vm_config.ovmf_variant '" + ovmf + "' is unknown (only pre202505)");
    }
    String variant = optionalText(root, "tdx_attestation_variant");
    if (variant == null) {
      variant = "legacy";
    } else if (!variant.equals("legacy") && !variant.equals("lite")) {
      throw invalid(
          "vm_config.tdx_attestation_variant '" + variant + "' is unknown (legacy or lite)");
    }
    String hostShare = optionalText(root, "host_share_mode");
    return new VmConfig(
        Bytes.copyOf(hash),
        uint(root, "cpu_count", U32, 0),
        uint(root, "memory_size", Long.MAX_VALUE, 0),
        optionalBool(root, "qemu_single_pass_add_pages"),
        optionalBool(root, "pic"),
        optionalText(root, "qemu_version"),
        uint(root, "pci_hole64_size", Long.MAX_VALUE, 0),
        bool(root, "hugepages"),
        uint(root, "num_gpus", U32, 0),
        uint(root, "num_nvswitches", U32, 0),
        uint(root, "num_nics", U32, 1),
        uint(root, "num_verity_volumes", U32, 0),
        bool(root, "swtpm"),
        bool(root, "hotplug_off"),
        optionalText(root, "image"),
        hostShare == null ? "" : hostShare,
        ovmf,
        variant,
        document(root.get("tdx_measurement")));
  }

  private static TdxMeasurementDocument document(JsonNode node) throws OsImageException {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isObject()) {
      throw invalid("vm_config.tdx_measurement must be an object");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals("checksum_file") && !f.equals("measurement")) {
        throw invalid("vm_config.tdx_measurement has unknown field '" + f + "'");
      }
    }
    byte[] checksum = base64(node, "checksum_file", TdxMeasurementDocument.MAX_CHECKSUM_FILE_BYTES);
    byte[] measurement = base64(node, "measurement", TdxMeasurementDocument.MAX_DOCUMENT_BYTES);
    return new TdxMeasurementDocument(checksum, measurement);
  }

  private static byte[] base64(JsonNode node, String field, int maxBytes) throws OsImageException {
    JsonNode v = node.get(field);
    String where = "vm_config.tdx_measurement." + field;
    if (v == null || !v.isTextual()) {
      throw invalid(where + " must be a base64 string");
    }
    if (v.textValue().length() > (maxBytes / 3 + 1) * 4) {
      throw invalid(where + " is over " + maxBytes + " bytes");
    }
    byte[] decoded;
    try {
      decoded = Base64.getDecoder().decode(v.textValue());
    } catch (IllegalArgumentException e) {
      throw invalid(where + " is not valid base64");
    }
    if (decoded.length > maxBytes) {
      throw invalid(where + " is over " + maxBytes + " bytes");
    }
    return decoded;
  }

  private static long uint(JsonNode root, String field, long max, long dflt)
      throws OsImageException {
    JsonNode v = root.get(field);
    if (v == null) {
      return dflt;
    }
    if (!v.isIntegralNumber()
        || !v.canConvertToLong()
        || v.longValue() < 0
        || v.longValue() > max) {
      throw invalid("vm_config." + field + " must be an integer in 0.." + max);
    }
    return v.longValue();
  }

  private static boolean bool(JsonNode root, String field) throws OsImageException {
    JsonNode v = root.get(field);
    if (v == null) {
      return false;
    }
    if (!v.isBoolean()) {
      throw invalid("vm_config." + field + " must be true or false");
    }
    return v.booleanValue();
  }

  private static Boolean optionalBool(JsonNode root, String field) throws OsImageException {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isBoolean()) {
      throw invalid("vm_config." + field + " must be true, false or null");
    }
    return v.booleanValue();
  }

  private static String optionalText(JsonNode root, String field) throws OsImageException {
    JsonNode v = root.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw invalid("vm_config." + field + " must be a string or null");
    }
    if (v.textValue().length() > MAX_TEXT) {
      throw invalid("vm_config." + field + " is longer than " + MAX_TEXT + " characters");
    }
    return v.textValue();
  }

  private static OsImageException invalid(String message) {
    return new OsImageException(OsImageFailure.VM_CONFIG_INVALID, message);
  }
}
