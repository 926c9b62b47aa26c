package org.teekms.attest.osimage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * vm_config and sha256sum.txt parsing: strict, with the reason, and never an unchecked exception.
 */
class VmConfigAndChecksumTest {
  private static final String MUTATIONS = " {}[],:\"0a-.e";
  private static final String HASH =
      "e6f5cfec20c02e7b97baa213d0f718020b55e040172d90ccbcb946d56c8b09db";

  @Test
  void realVmConfigsParse() throws Exception {
    VmConfig lite = VmConfig.parse(DstackCapture.load(DstackCapture.LITE).vmConfigBytes());
    assertEquals(HASH, lite.osImageHash().hex());
    assertEquals(2L << 30, lite.memorySize());
    assertEquals("8.2.2", lite.qemuVersion());
    assertEquals("lite", lite.tdxAttestationVariant());
    assertEquals(1, lite.numNics());
    assertTrue(lite.tdxMeasurement() != null);
    VmConfig legacy = VmConfig.parse(DstackCapture.load(DstackCapture.LEGACY).vmConfigBytes());
    assertEquals(64L << 30, legacy.memorySize());
    assertEquals(Boolean.FALSE, legacy.qemuSinglePassAddPages());
    assertEquals("legacy", legacy.tdxAttestationVariant());
    assertNull(legacy.tdxMeasurement());
  }

  @Test
  void eachMalformedFieldIsRefusedByName() {
    String h = "\"os_image_hash\":\"" + HASH + "\"";
    assertRefused("{" + h + ",\"memory_size\":-1}", "vm_config.memory_size must be an integer");
    assertRefused("{" + h + ",\"memory_size\":\"2\"}", "vm_config.memory_size must be an integer");
    assertRefused("{" + h + ",\"memory_size\":1e9}", "vm_config.memory_size must be an integer");
    assertRefused(
        "{" + h + ",\"cpu_count\":4294967296}",
        "vm_config.cpu_count must be an integer in 0..4294967295");
    assertRefused("{" + h + ",\"hugepages\":null}", "vm_config.hugepages must be true or false");
    assertRefused("{" + h + ",\"hugepages\":1}", "vm_config.hugepages must be true or false");
    assertRefused("{" + h + ",\"pic\":1}", "vm_config.pic must be true, false or null");
    assertRefused("{" + h + "," + h + "}", "not valid JSON");
    assertRefused("{" + h + "} {}", "not valid JSON");
    assertRefused("{\"os_image_hash\":\"" + HASH.substring(2) + "\"}", "is 31 bytes, expected 32");
    assertRefused("{\"os_image_hash\":\"zz\"}", "is not valid hex");
    assertRefused("{}", "os_image_hash must be a hex string");
    assertRefused("{" + h + ",\"tdx_measurement\":[]}", "tdx_measurement must be an object");
    assertRefused(
        "{" + h + ",\"tdx_measurement\":{\"checksum_file\":\"!!\",\"measurement\":\"\"}}",
        "checksum_file is not valid base64");
    assertRefused(
        "{" + h + ",\"tdx_measurement\":{\"checksum_file\":\"\",\"measurement\":\"\",\"x\":1}}",
        "tdx_measurement has unknown field 'x'");
    assertRefused("{" + h + ",\"gcp_measurement\":{}}", "another platform's document");
    String big64 =
        java.util.Base64.getEncoder()
            .encodeToString(new byte[TdxMeasurementDocument.MAX_DOCUMENT_BYTES + 1]);
    assertRefused(
        "{"
            + h
            + ",\"tdx_measurement\":{\"checksum_file\":\"\",\"measurement\":\""
            + big64
            + "\"}}",
        "measurement is over 65536 bytes");
    assertRefused(
        "{" + h + ",\"tdx_attestation_variant\":\"full\"}",
        "tdx_attestation_variant 'full' is unknown");
    assertRefused("[" + h + "]", "not valid JSON");
    assertRefused("\"x\"", "must be a JSON object");
    byte[] big = new byte[VmConfig.MAX_BYTES + 1];
    Arrays.fill(big, (byte) ' ');
    OsImageException e = assertThrows(OsImageException.class, () -> VmConfig.parse(big));
    assertTrue(e.getMessage().contains("limit"));
  }

  @Test
  void truncatedMutatedAndRandomVmConfigsNeverThrowUnchecked() throws Exception {
    byte[] json = DstackCapture.load(DstackCapture.LITE).vmConfigBytes();
    for (int n = 0; n < json.length; n++) {
      parsesOrFailsCleanly(Arrays.copyOf(json, n));
    }
    Random rnd = new Random(0x7EE_C0F6);
    for (int i = 0; i < 3000; i++) {
      byte[] b = json.clone();
      for (int k = 0; k < 1 + rnd.nextInt(4); k++) {
        b[rnd.nextInt(b.length)] =
            (byte)
                (i % 3 == 0 ? rnd.nextInt(256) : MUTATIONS.charAt(rnd.nextInt(MUTATIONS.length())));
      }
      parsesOrFailsCleanly(b);
      byte[] r = new byte[rnd.nextInt(200)];
      rnd.nextBytes(r);
      parsesOrFailsCleanly(r);
    }
  }

  @Test
  void checksumFileFollowsDstacksRules() throws Exception {
    String doc = "8c9e955f0b577cc8945a891a34ccfa5b8e08bb5e5d249992603e64dd14870e3c";
    byte[] expected = HexFormat.of().parseHex(doc);
    assertArrayEquals(expected, entry("\n  " + doc + "  measurement.tdx.cbor extra\r\n\n"));
    assertArrayEquals(
        expected, entry("00  bzImage\n" + doc.toUpperCase() + "\tmeasurement.tdx.cbor"));
    assertChecksumRefused(doc + "  bzImage\n", "does not list measurement.tdx.cbor");
    assertChecksumRefused(
        doc + "  measurement.tdx.cbor\n" + doc + " measurement.tdx.cbor", "more than once");
    assertChecksumRefused(doc + "\n", "line 1 is missing a file name");
    assertChecksumRefused("abc  measurement.tdx.cbor", "is not valid hex");
    assertChecksumRefused("abcd  measurement.tdx.cbor", "is 2 bytes, expected 32");
    assertChecksumRefused(doc + "  *measurement.tdx.cbor", "does not list");
    OsImageException e =
        assertThrows(
            OsImageException.class,
            () -> ChecksumFile.entry(new byte[] {(byte) 0xff, 0x20, 0x61}, "a"));
    assertEquals("checksum file is not valid UTF-8", e.getMessage());
    Random rnd = new Random(5);
    for (int i = 0; i < 2000; i++) {
      byte[] b = (doc + "  measurement.tdx.cbor\n").getBytes(StandardCharsets.UTF_8);
      b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
      try {
        ChecksumFile.entry(b, TdxMeasurementDocument.FILENAME);
      } catch (OsImageException ex) {
        assertEquals(OsImageFailure.CHECKSUM_FILE_INVALID, ex.failure());
      }
    }
  }

  @Test
  void tdHobWitnessRoundTripsAndHostileWitnessesAreRefused() throws Exception {
    byte[] real = HexFormat.of().parseHex("80100904000609020b021010");
    TdHob.Witness w = TdHob.decode(real);
    assertEquals(0x809, w.tdHobPage());
    assertEquals(4, w.ranges().size());
    assertArrayEquals(real, w.encode());
    for (int n = 0; n < real.length; n++) {
      byte[] t = Arrays.copyOf(real, n);
      assertThrows(OsImageException.class, () -> TdHob.decode(t));
    }
    assertThrows(
        OsImageException.class,
        () -> TdHob.decode(HexFormat.of().parseHex("80100904000609020b02101000")));
    assertThrows(
        OsImageException.class,
        () -> TdHob.decode(HexFormat.of().parseHex("ffffffffffffffffffff01")));
    assertThrows(OsImageException.class, () -> TdHob.decode(HexFormat.of().parseHex("000041")));
    assertThrows(OsImageException.class, () -> TdHob.build(real, 0));
    Random rnd = new Random(11);
    for (int i = 0; i < 5000; i++) {
      byte[] b = new byte[rnd.nextInt(24)];
      rnd.nextBytes(b);
      try {
        TdHob.build(b, (1L + rnd.nextInt(128)) << 30);
      } catch (OsImageException ex) {
        assertFalse(ex.getMessage().isEmpty());
      }
    }
  }

  private static byte[] entry(String file) throws OsImageException {
    return ChecksumFile.entry(
        file.getBytes(StandardCharsets.UTF_8), TdxMeasurementDocument.FILENAME);
  }

  private static void assertChecksumRefused(String file, String reason) {
    OsImageException e = assertThrows(OsImageException.class, () -> entry(file));
    assertEquals(OsImageFailure.CHECKSUM_FILE_INVALID, e.failure());
    assertTrue(e.getMessage().contains(reason), e.getMessage());
  }

  private static void assertRefused(String json, String reason) {
    OsImageException e =
        assertThrows(
            OsImageException.class, () -> VmConfig.parse(json.getBytes(StandardCharsets.UTF_8)));
    assertEquals(OsImageFailure.VM_CONFIG_INVALID, e.failure());
    assertTrue(e.getMessage().contains(reason), e.getMessage());
  }

  private static void parsesOrFailsCleanly(byte[] b) {
    try {
      VmConfig.parse(b);
    } catch (OsImageException e) {
      assertEquals(OsImageFailure.VM_CONFIG_INVALID, e.failure());
      assertTrue(e.getMessage().startsWith("vm_config"), e.getMessage());
      assertFalse(e.getMessage().contains("Exception"), e.getMessage());
    }
  }
}
