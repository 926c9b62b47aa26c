package org.teekms.attest.osimage;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Objects;
import java.util.Set;
import org.teekms.crypto.Bytes;

/**
 * The decoded {@code measurement.tdx.cbor} (dstack {@code TdxOsImageMeasurement}, CBOR schema
 * version 3): what an OS image contributes to MRTD and RTMR0-2, independent of the VM it boots in.
 *
 * <pre>
 * { "version": 3,
 *   "image": { "cmdline_sha384": bstr(48), "kernel_authenticode": bstr(48), "initrd_sha384": bstr(48) },
 *   "tdvf":  { "ovmf": "pre202505", "mrtd": { "single_pass": bstr(48), "two_pass": bstr(48) }, "td_hob": bstr } }
 * </pre>
 *
 * <p>Decoding is strict: definite or indefinite CBOR as Jackson reads it, but every map must have
 * exactly these keys with exactly these types, no duplicate keys and nothing after the top-level
 * map (dstack's serde decoder ignores unknown keys; tee-kms refuses them, so a document means one
 * thing only). {@link #encode()} writes the same canonical form dstack's ciborium writes (definite
 * lengths, keys in the order above).
 *
 * @param cmdlineSha384 SHA-384 of the measured kernel command line (UTF-16LE, NUL-terminated, with
 *     the {@code " initrd=initrd"} suffix OVMF adds): the first RTMR2 event
 * @param kernelAuthenticode Authenticode SHA-384 of the kernel as QEMU patches it (high-memory
 *     placement): the first RTMR1 event
 * @param initrdSha384 SHA-384 of the initrd: the second RTMR2 event
 * @param ovmfVariant the OVMF RTMR0 event layout; only {@code pre202505} exists
 * @param mrtdSinglePass MRTD when QEMU adds and extends pages in one pass
 * @param mrtdTwoPass MRTD when QEMU adds all pages, then extends them
 * @param tdHobWitness the compact TD HOB witness ({@link TdHob})
 */
public record TdxImageMeasurement(
    Bytes cmdlineSha384,
    Bytes kernelAuthenticode,
    Bytes initrdSha384,
    String ovmfVariant,
    Bytes mrtdSinglePass,
    Bytes mrtdTwoPass,
    Bytes tdHobWitness) {

  public static final int VERSION = 3;
  public static final String OVMF_PRE_202505 = "pre202505";
  public static final int MAX_WITNESS_BYTES = 1024;

  private static final ObjectMapper CBOR =
      new ObjectMapper(new CBORFactory())
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  public TdxImageMeasurement {
    for (Bytes b :
        new Bytes[] {
          cmdlineSha384, kernelAuthenticode, initrdSha384, mrtdSinglePass, mrtdTwoPass
        }) {
      if (Objects.requireNonNull(b, "digest").length() != 48) {
        throw new IllegalArgumentException("digests are 48 bytes (SHA-384)");
      }
    }
    if (!OVMF_PRE_202505.equals(ovmfVariant)) {
      throw new IllegalArgumentException("unknown OVMF variant " + ovmfVariant);
    }
    if (Objects.requireNonNull(tdHobWitness, "tdHobWitness").length() > MAX_WITNESS_BYTES) {
      throw new IllegalArgumentException("TD HOB witness over " + MAX_WITNESS_BYTES + " bytes");
    }
  }

  /**
   * Decodes {@code measurement.tdx.cbor}; any deviation from the schema is a {@code
   * MEASUREMENT_DOCUMENT_INVALID}.
   */
  public static TdxImageMeasurement decode(byte[] cbor) throws OsImageException {
    if (cbor.length > TdxMeasurementDocument.MAX_DOCUMENT_BYTES) {
      throw invalid(
          "is " + cbor.length + " bytes, limit " + TdxMeasurementDocument.MAX_DOCUMENT_BYTES);
    }
    JsonNode root;
    try {
      root = CBOR.readTree(cbor);
    } catch (IOException | RuntimeException e) {
      // Jackson reports malformed input as IOException; anything else it throws is still malformed
      // input here.
      throw invalid("is not valid CBOR (" + firstLine(e.getMessage()) + ")");
    }
    if (root == null || root.isMissingNode()) {
      throw invalid("is empty");
    }
    JsonNode version = object(root, "document", Set.of("version", "image", "tdvf")).get("version");
    if (!version.isIntegralNumber() || !version.canConvertToInt()) {
      throw invalid("version is not an integer");
    }
    if (version.intValue() != VERSION) {
      throw invalid("has version " + version.asText() + ", expected " + VERSION);
    }
    JsonNode image =
        object(
            root.get("image"),
            "image",
            Set.of("cmdline_sha384", "kernel_authenticode", "initrd_sha384"));
    JsonNode tdvf = object(root.get("tdvf"), "tdvf", Set.of("ovmf", "mrtd", "td_hob"));
    JsonNode mrtd = object(tdvf.get("mrtd"), "tdvf.mrtd", Set.of("single_pass", "two_pass"));
    JsonNode ovmf = tdvf.get("ovmf");
    if (!ovmf.isTextual()) {
      throw invalid("tdvf.ovmf is not a text string");
    }
    if (!OVMF_PRE_202505.equals(ovmf.textValue())) {
      throw invalid(
          "tdvf.ovmf is '" + ovmf.textValue() + "', only '" + OVMF_PRE_202505 + "' is known");
    }
    byte[] witness = bytes(tdvf, "td_hob", "tdvf.td_hob", -1);
    if (witness.length > MAX_WITNESS_BYTES) {
      throw invalid("tdvf.td_hob is " + witness.length + " bytes, limit " + MAX_WITNESS_BYTES);
    }
    return new TdxImageMeasurement(
        Bytes.copyOf(bytes(image, "cmdline_sha384", "image.cmdline_sha384", 48)),
        Bytes.copyOf(bytes(image, "kernel_authenticode", "image.kernel_authenticode", 48)),
        Bytes.copyOf(bytes(image, "initrd_sha384", "image.initrd_sha384", 48)),
        ovmf.textValue(),
        Bytes.copyOf(bytes(mrtd, "single_pass", "tdvf.mrtd.single_pass", 48)),
        Bytes.copyOf(bytes(mrtd, "two_pass", "tdvf.mrtd.two_pass", 48)),
        Bytes.copyOf(witness));
  }

  /**
   * The canonical CBOR bytes (what dstack's image build writes as {@code measurement.tdx.cbor}).
   */
  public byte[] encode() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (CBORGenerator g = (CBORGenerator) CBOR.getFactory().createGenerator(out)) {
      g.writeStartObject(this, 3);
      g.writeFieldName("version");
      g.writeNumber(VERSION);
      g.writeFieldName("image");
      g.writeStartObject(null, 3);
      binary(g, "cmdline_sha384", cmdlineSha384);
      binary(g, "kernel_authenticode", kernelAuthenticode);
      binary(g, "initrd_sha384", initrdSha384);
      g.writeEndObject();
      g.writeFieldName("tdvf");
      g.writeStartObject(null, 3);
      g.writeStringField("ovmf", ovmfVariant);
      g.writeFieldName("mrtd");
      g.writeStartObject(null, 2);
      binary(g, "single_pass", mrtdSinglePass);
      binary(g, "two_pass", mrtdTwoPass);
      g.writeEndObject();
      binary(g, "td_hob", tdHobWitness);
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException("writing CBOR to memory cannot fail", e);
    }
    return out.toByteArray();
  }

  private static void binary(CBORGenerator g, String name, Bytes value) throws IOException {
    g.writeFieldName(name);
    g.writeBinary(value.toByteArray());
  }

  private static JsonNode object(JsonNode node, String where, Set<String> fields)
      throws OsImageException {
    if (node == null || !node.isObject()) {
      throw invalid(where + " is not a map");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!fields.contains(f)) {
        throw invalid(where + " has unknown key '" + f + "'");
      }
    }
    for (String f : fields) {
      if (!node.has(f)) {
        throw invalid(where + " lacks '" + f + "'");
      }
    }
    return node;
  }

  private static byte[] bytes(JsonNode parent, String field, String where, int length)
      throws OsImageException {
    JsonNode v = parent.get(field);
    if (!v.isBinary()) {
      throw invalid(where + " is not a byte string");
    }
    byte[] b;
    try {
      b = v.binaryValue();
    } catch (IOException e) {
      throw invalid(where + " cannot be read");
    }
    if (length >= 0 && b.length != length) {
      throw invalid(where + " is " + b.length + " bytes, expected " + length);
    }
    return b;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "malformed";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private static OsImageException invalid(String message) {
    return new OsImageException(
        OsImageFailure.MEASUREMENT_DOCUMENT_INVALID, "measurement document " + message);
  }
}
