package org.teekms.governance;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;

/**
 * BootInfo as JSON (for {@code teekms gov check-app} and tools): hex fields with optional 0x,
 * driver version as "major.minor.patch" or its integer encoding. Strict: every field required,
 * unknown fields rejected, sizes checked.
 *
 * <pre>
 * {"appId":"0x…20 bytes","composeHash":"…32","instanceId":"…20","deviceId":"…32","mrAggregated":"…32",
 * "osImageHash":"…32","tcbStatus":"UpToDate","advisoryIds":[],"gpuCount":1,"gpuArch":"HOPPER",
 * "gpuDriverVersion":"550.127.05","mrSystem":"…32","osImageMeasured":false}</pre>
 *
 * {@code mrSystem} and {@code osImageMeasured} may be omitted (zero and false: a boot without a
 * hardware-measured OS identity, which the registry's OS image check refuses).
 */
public final class BootInfoJson {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
  private static final Set<String> FIELDS =
      Set.of(
          "appId",
          "composeHash",
          "instanceId",
          "deviceId",
          "mrAggregated",
          "osImageHash",
          "tcbStatus",
          "advisoryIds",
          "gpuCount",
          "gpuArch",
          "gpuDriverVersion");
  private static final Set<String> OPTIONAL_FIELDS = Set.of("mrSystem", "osImageMeasured");
  private static final int MAX_INPUT = 64 * 1024;
  private static final int MAX_ADVISORIES = 256;

  private BootInfoJson() {}

  /** Parses a BootInfo; any problem is an IllegalArgumentException that names the field. */
  public static BootInfo parse(String json) {
    if (json.length() > MAX_INPUT)
      throw new IllegalArgumentException("BootInfo JSON larger than 64 KiB");
    JsonNode n;
    try {
      n = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("BootInfo is not valid JSON: " + e.getOriginalMessage());
    }
    if (n == null || !n.isObject())
      throw new IllegalArgumentException("BootInfo must be a JSON object");
    n.fieldNames()
        .forEachRemaining(
            f -> {
              if (!FIELDS.contains(f) && !OPTIONAL_FIELDS.contains(f))
                throw new IllegalArgumentException("unknown BootInfo field " + f);
            });
    for (String f : FIELDS)
      if (!n.has(f)) throw new IllegalArgumentException("missing BootInfo field " + f);
    JsonNode adv = n.get("advisoryIds");
    if (!adv.isArray() || adv.size() > MAX_ADVISORIES) {
      throw new IllegalArgumentException(
          "advisoryIds must be an array of at most " + MAX_ADVISORIES + " strings");
    }
    List<String> advisories = new ArrayList<>();
    for (JsonNode a : adv) advisories.add(text(a, "advisoryIds[]"));
    JsonNode count = n.get("gpuCount");
    if (!count.isInt() || count.asInt() < 0)
      throw new IllegalArgumentException("gpuCount must be an integer >= 0");
    JsonNode driver = n.get("gpuDriverVersion");
    long driverVersion;
    if (driver.isTextual()) {
      driverVersion = driver.asText().equals("0") ? 0 : DriverVersion.parse(driver.asText());
    } else if (driver.isIntegralNumber() && driver.canConvertToLong()) {
      driverVersion = driver.asLong();
    } else {
      throw new IllegalArgumentException(
          "gpuDriverVersion must be \"major.minor.patch\" or an integer");
    }
    Bytes mrSystem = Bytes.copyOf(n.has("mrSystem") ? hex(n, "mrSystem", 32) : new byte[32]);
    boolean measured = false;
    if (n.has("osImageMeasured")) {
      if (!n.get("osImageMeasured").isBoolean())
        throw new IllegalArgumentException("osImageMeasured must be a boolean");
      measured = n.get("osImageMeasured").asBoolean();
    }
    return new BootInfo(
        AppId.of(hex(n, "appId", 20)),
        Bytes.copyOf(hex(n, "composeHash", 32)),
        Bytes.copyOf(hex(n, "instanceId", 20)),
        Bytes.copyOf(hex(n, "deviceId", 32)),
        Bytes.copyOf(hex(n, "mrAggregated", 32)),
        Bytes.copyOf(hex(n, "osImageHash", 32)),
        text(n.get("tcbStatus"), "tcbStatus"),
        advisories,
        count.asInt(),
        text(n.get("gpuArch"), "gpuArch"),
        driverVersion,
        mrSystem,
        measured);
  }

  /** The JSON form of a BootInfo (hex with 0x). */
  public static Map<String, Object> toMap(BootInfo b) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("appId", b.appAddress());
    m.put("composeHash", "0x" + b.composeHash().hex());
    m.put("instanceId", "0x" + b.instanceId().hex());
    m.put("deviceId", "0x" + b.deviceId().hex());
    m.put("mrAggregated", "0x" + b.mrAggregated().hex());
    m.put("osImageHash", "0x" + b.osImageHash().hex());
    m.put("tcbStatus", b.tcbStatus());
    m.put("advisoryIds", b.advisoryIds());
    m.put("gpuCount", b.gpuCount());
    m.put("gpuArch", b.gpuArch());
    m.put("gpuDriverVersion", DriverVersion.format(b.gpuDriverVersion()));
    m.put("mrSystem", "0x" + b.mrSystem().hex());
    m.put("osImageMeasured", b.osImageMeasured());
    return m;
  }

  private static String text(JsonNode v, String field) {
    if (v == null || !v.isTextual())
      throw new IllegalArgumentException(field + " must be a string");
    if (v.asText().length() > 256)
      throw new IllegalArgumentException(field + " longer than 256 characters");
    return v.asText();
  }

  private static byte[] hex(JsonNode n, String field, int length) {
    String s = text(n.get(field), field);
    if (s.startsWith("0x") || s.startsWith("0X")) s = s.substring(2);
    if (s.length() != length * 2) {
      throw new IllegalArgumentException(field + " must be " + length + " bytes of hex");
    }
    try {
      return HexFormat.of().parseHex(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + " is not hex");
    }
  }
}
