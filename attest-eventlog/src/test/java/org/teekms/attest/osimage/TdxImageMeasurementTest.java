package org.teekms.attest.osimage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * measurement.tdx.cbor: the real document decodes, re-encodes byte for byte, and hostile bytes are
 * refused cleanly.
 */
class TdxImageMeasurementTest {
  private static byte[] realDocument() throws Exception {
    return OsImageVerifierTest.document(DstackCapture.load(DstackCapture.LITE).vmConfigCopy());
  }

  @Test
  void realDocumentDecodesAndReEncodesToTheSameBytes() throws Exception {
    byte[] cbor = realDocument();
    TdxImageMeasurement m = TdxImageMeasurement.decode(cbor);
    assertEquals("pre202505", m.ovmfVariant());
    assertEquals("80100904000609020b021010", m.tdHobWitness().hex());
    assertEquals(
        "fd685522ce791dfef67414614eb07d03fc07a32c5a66f36288b329dab92b724b1564c73d436ffb9ea84488c51ac5a1c5",
        m.mrtdTwoPass().hex());
    assertArrayEquals(cbor, m.encode(), "canonical encoding = dstack's ciborium output");
  }

  @Test
  void schemaDeviationsAreRefusedWithTheirReason() throws Exception {
    byte[] cbor = realDocument();
    String hex = HexFormat.of().formatHex(cbor);
    // "version": 3 -> 4
    assertReason(
        hex.replace("6776657273696f6e03", "6776657273696f6e04"), "has version 4, expected 3");
    // "ovmf": "pre202505" -> "pre202506"
    assertReason(
        hex.replace(
            HexFormat.of().formatHex("pre202505".getBytes()),
            HexFormat.of().formatHex("pre202506".getBytes())),
        "tdvf.ovmf is 'pre202506'");
    // key "td_hob" -> "td_hoc": an unknown key (and td_hob missing)
    assertReason(
        hex.replace(
            HexFormat.of().formatHex("td_hob".getBytes()),
            HexFormat.of().formatHex("td_hoc".getBytes())),
        "tdvf has unknown key 'td_hoc'");
    // "version": 3 -> "3"
    assertReason(
        hex.replace("6776657273696f6e03", "6776657273696f6e6133"), "version is not an integer");
    // "ovmf": text -> bstr of the same bytes
    assertReason(
        hex.replace(
            "69" + HexFormat.of().formatHex("pre202505".getBytes()),
            "49" + HexFormat.of().formatHex("pre202505".getBytes())),
        "tdvf.ovmf is not a text string");
    // "td_hob": bstr(12) -> a 12-element array of small integers
    String witness = "4c80100904000609020b021010";
    assertReason(hex.replace(witness, "8c" + "00".repeat(12)), "tdvf.td_hob is not a byte string");
    assertReason(hex + "00", "is not valid CBOR");
    assertReason("", "is empty");
    assertReason("a0", "lacks");
    assertReason("80", "document is not a map");
  }

  @Test
  void everyTruncationIsRefused() throws Exception {
    byte[] cbor = realDocument();
    for (int n = 0; n < cbor.length; n++) {
      byte[] t = Arrays.copyOf(cbor, n);
      OsImageException e =
          assertThrows(OsImageException.class, () -> TdxImageMeasurement.decode(t), "length " + n);
      assertEquals(OsImageFailure.MEASUREMENT_DOCUMENT_INVALID, e.failure());
    }
  }

  @Test
  void oversizedDocumentIsRefusedBeforeParsing() {
    byte[] big = new byte[TdxMeasurementDocument.MAX_DOCUMENT_BYTES + 1];
    OsImageException e =
        assertThrows(OsImageException.class, () -> TdxImageMeasurement.decode(big));
    assertTrue(e.getMessage().contains("limit"), e.getMessage());
  }

  @Test
  void everySingleByteMutationDecodesOrFailsCleanly() throws Exception {
    byte[] cbor = realDocument();
    int decoded = 0;
    for (int i = 0; i < cbor.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] m = cbor.clone();
        m[i] ^= (byte) (1 << bit);
        decoded += decodesOrFailsCleanly(m) ? 1 : 0;
      }
    }
    // Bit flips inside the digests still decode (the hash binding catches those); structural ones
    // must not.
    assertTrue(decoded > 0 && decoded < cbor.length * 8, "decoded " + decoded);
  }

  @Test
  void seededRandomInputNeverThrowsUnchecked() throws Exception {
    Random rnd = new Random(0x05_1A_6E);
    byte[] cbor = realDocument();
    for (int i = 0; i < 3000; i++) {
      byte[] b;
      if (i % 2 == 0) {
        b = new byte[rnd.nextInt(600)];
        rnd.nextBytes(b);
        if (b.length > 0 && i % 4 == 0) {
          b[0] = (byte) (0xa0 | rnd.nextInt(4)); // a small map, so the parser goes further
        }
      } else {
        b = cbor.clone();
        for (int k = 0; k < 1 + rnd.nextInt(6); k++) {
          b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
        }
      }
      decodesOrFailsCleanly(b);
    }
  }

  /**
   * True when the bytes decode; false when refused with a checked, reasoned exception; anything
   * else fails.
   */
  static boolean decodesOrFailsCleanly(byte[] b) {
    try {
      TdxImageMeasurement.decode(b);
      return true;
    } catch (OsImageException e) {
      assertEquals(OsImageFailure.MEASUREMENT_DOCUMENT_INVALID, e.failure());
      assertTrue(e.getMessage().startsWith("measurement document "), e.getMessage());
      return false;
    }
  }

  private static void assertReason(String hex, String reason) {
    OsImageException e =
        assertThrows(
            OsImageException.class, () -> TdxImageMeasurement.decode(HexFormat.of().parseHex(hex)));
    assertEquals(OsImageFailure.MEASUREMENT_DOCUMENT_INVALID, e.failure());
    assertTrue(e.getMessage().contains(reason), e.getMessage());
  }
}
