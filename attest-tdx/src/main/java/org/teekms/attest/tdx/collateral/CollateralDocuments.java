package org.teekms.attest.tdx.collateral;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.crypto.Bytes;

/**
 * Parses the JSON of TCB info and QE identity. Every field the verifier relies on is required and
 * type-checked; a missing field, a wrong type, a bad hex length or an unknown TCB status is an
 * error. Members the verifier does not use (e.g. component categories) are ignored: Intel adds such
 * members over time and they are covered by the signature.
 */
public final class CollateralDocuments {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private CollateralDocuments() {}

  public static TcbInfo tcbInfo(SignedJson doc) throws CollateralException {
    JsonNode n = read(doc, "TCB info");
    try {
      String id = text(n, "id");
      int version = integer(n, "version", 0, 100);
      if (!(id.equals("TDX") && version == 3)
          && !(id.equals("SGX") && (version == 2 || version == 3))) {
        throw new CollateralException("unsupported TCB info id/version " + id + "/" + version);
      }
      boolean tdx = id.equals("TDX");
      TcbInfo.TdxModule module = null;
      List<TcbInfo.TdxModuleIdentity> identities = new ArrayList<>();
      if (tdx) {
        JsonNode m = object(n, "tdxModule");
        module =
            new TcbInfo.TdxModule(
                hex(m, "mrsigner", 48), hex(m, "attributes", 8), hex(m, "attributesMask", 8));
        JsonNode ids = n.get("tdxModuleIdentities");
        if (ids != null) {
          for (JsonNode i : array(n, "tdxModuleIdentities")) {
            identities.add(
                new TcbInfo.TdxModuleIdentity(
                    text(i, "id"),
                    hex(i, "mrsigner", 48),
                    hex(i, "attributes", 8),
                    hex(i, "attributesMask", 8),
                    isvSvnLevels(i)));
          }
        }
      }
      List<TcbInfo.TcbLevel> levels = new ArrayList<>();
      for (JsonNode l : array(n, "tcbLevels")) {
        JsonNode tcb = object(l, "tcb");
        List<Integer> sgx = new ArrayList<>(16);
        List<Integer> tdxComps = new ArrayList<>(16);
        if (version == 2) {
          for (int i = 1; i <= 16; i++) {
            sgx.add(integer(tcb, String.format("sgxtcbcomp%02dsvn", i), 0, 255));
          }
        } else {
          components(tcb, "sgxtcbcomponents", sgx);
          if (tdx) {
            components(tcb, "tdxtcbcomponents", tdxComps);
          }
        }
        levels.add(
            new TcbInfo.TcbLevel(
                sgx,
                integer(tcb, "pcesvn", 0, 0xffff),
                tdxComps,
                instant(l, "tcbDate"),
                status(l),
                advisories(l)));
      }
      if (levels.isEmpty()) {
        throw new CollateralException("TCB info has no TCB levels");
      }
      return new TcbInfo(
          id,
          version,
          instant(n, "issueDate"),
          instant(n, "nextUpdate"),
          hex(n, "fmspc", 6),
          hex(n, "pceId", 2),
          integer(n, "tcbType", 0, 0xffff),
          integer(n, "tcbEvaluationDataNumber", 0, Integer.MAX_VALUE),
          module,
          identities,
          levels);
    } catch (CollateralException e) {
      throw new CollateralException("TCB info: " + e.getMessage(), e);
    }
  }

  public static QeIdentity qeIdentity(SignedJson doc) throws CollateralException {
    JsonNode n = read(doc, "QE identity");
    try {
      QeIdentity q =
          new QeIdentity(
              text(n, "id"),
              integer(n, "version", 0, 100),
              instant(n, "issueDate"),
              instant(n, "nextUpdate"),
              integer(n, "tcbEvaluationDataNumber", 0, Integer.MAX_VALUE),
              hex(n, "miscselect", 4),
              hex(n, "miscselectMask", 4),
              hex(n, "attributes", 16),
              hex(n, "attributesMask", 16),
              hex(n, "mrsigner", 32),
              integer(n, "isvprodid", 0, 0xffff),
              isvSvnLevels(n));
      if (q.tcbLevels().isEmpty()) {
        throw new CollateralException("no TCB levels");
      }
      return q;
    } catch (CollateralException e) {
      throw new CollateralException("QE identity: " + e.getMessage(), e);
    }
  }

  private static JsonNode read(SignedJson doc, String what) throws CollateralException {
    try {
      JsonNode n = MAPPER.readTree(doc.json());
      if (n == null || !n.isObject()) {
        throw new CollateralException(what + " is not a JSON object");
      }
      return n;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new CollateralException(what + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
  }

  private static List<TcbInfo.IsvSvnLevel> isvSvnLevels(JsonNode parent)
      throws CollateralException {
    List<TcbInfo.IsvSvnLevel> out = new ArrayList<>();
    for (JsonNode l : array(parent, "tcbLevels")) {
      out.add(
          new TcbInfo.IsvSvnLevel(
              integer(object(l, "tcb"), "isvsvn", 0, 0xffff),
              instant(l, "tcbDate"),
              status(l),
              advisories(l)));
    }
    return out;
  }

  private static void components(JsonNode tcb, String field, List<Integer> out)
      throws CollateralException {
    JsonNode arr = array(tcb, field);
    if (arr.size() != 16) {
      throw new CollateralException(field + " has " + arr.size() + " entries, expected 16");
    }
    for (JsonNode c : arr) {
      out.add(integer(c, "svn", 0, 255));
    }
  }

  private static TcbStatus status(JsonNode level) throws CollateralException {
    try {
      return TcbStatus.parse(text(level, "tcbStatus"));
    } catch (IllegalArgumentException e) {
      throw new CollateralException(e.getMessage(), e);
    }
  }

  private static List<String> advisories(JsonNode level) throws CollateralException {
    List<String> ids = new ArrayList<>();
    if (level.has("advisoryIDs")) {
      for (JsonNode a : array(level, "advisoryIDs")) {
        if (!a.isTextual()) {
          throw new CollateralException("advisoryIDs must hold strings");
        }
        ids.add(a.asText());
      }
    }
    return ids;
  }

  private static JsonNode field(JsonNode n, String name) throws CollateralException {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      throw new CollateralException("missing \"" + name + "\"");
    }
    return v;
  }

  private static JsonNode object(JsonNode n, String name) throws CollateralException {
    JsonNode v = field(n, name);
    if (!v.isObject()) {
      throw new CollateralException("\"" + name + "\" must be an object");
    }
    return v;
  }

  private static JsonNode array(JsonNode n, String name) throws CollateralException {
    JsonNode v = field(n, name);
    if (!v.isArray()) {
      throw new CollateralException("\"" + name + "\" must be an array");
    }
    return v;
  }

  private static String text(JsonNode n, String name) throws CollateralException {
    JsonNode v = field(n, name);
    if (!v.isTextual()) {
      throw new CollateralException("\"" + name + "\" must be a string");
    }
    return v.asText();
  }

  private static int integer(JsonNode n, String name, int min, int max) throws CollateralException {
    JsonNode v = field(n, name);
    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
      throw new CollateralException(
          "\"" + name + "\" must be an integer in [" + min + ", " + max + "]");
    }
    return v.asInt();
  }

  private static Bytes hex(JsonNode n, String name, int length) throws CollateralException {
    String s = text(n, name);
    try {
      byte[] b = HexFormat.of().parseHex(s);
      if (b.length != length) {
        throw new CollateralException("\"" + name + "\" must be " + length + " bytes of hex");
      }
      return Bytes.copyOf(b);
    } catch (IllegalArgumentException e) {
      throw new CollateralException("\"" + name + "\" is not hex", e);
    }
  }

  private static Instant instant(JsonNode n, String name) throws CollateralException {
    String s = text(n, name);
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw new CollateralException("\"" + name + "\" is not an ISO-8601 UTC time: " + s, e);
    }
  }
}
