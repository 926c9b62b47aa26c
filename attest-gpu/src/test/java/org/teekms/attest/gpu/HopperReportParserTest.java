package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.MALFORMED_REPORT;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.teekms.attest.Fixtures;

class HopperReportParserTest {
  private static final HexFormat HEX = HexFormat.of();

  @ParameterizedTest
  @ValueSource(strings = {"nvtrust_hopper_2023", "nvtrust_hopper_2025"})
  void parsesRealReportsExactlyAsTheIndependentParser(String id) throws Exception {
    JsonNode exp = new ObjectMapper().readTree(Fixtures.text("expected/" + id + ".json"));
    byte[] bytes = GpuFixtures.hex(exp.get("report_file").asText());
    HopperReport r = HopperReportParser.parse(bytes);

    assertEquals(exp.get("report_length").asInt(), bytes.length);
    assertEquals(exp.get("signed_length").asInt(), r.signedBytes().length());
    assertEquals(exp.get("trailing_bytes_after_signature").asInt(), r.trailingBytes());
    assertEquals(
        exp.at("/parsed/request/nonce").asText(), HEX.formatHex(r.requestNonce().toByteArray()));
    assertEquals(
        exp.at("/parsed/response/nonce").asText(), HEX.formatHex(r.responderNonce().toByteArray()));
    assertEquals(
        exp.at("/parsed/response/signature").asText(), HEX.formatHex(r.signature().toByteArray()));
    JsonNode blocks = exp.at("/parsed/response/blocks");
    assertEquals(blocks.size(), r.blocks().size());
    for (int i = 0; i < blocks.size(); i++) {
      HopperReport.MeasurementBlock b = r.blocks().get(i);
      assertEquals(blocks.get(i).get("index").asInt(), b.index());
      assertEquals(blocks.get(i).get("dmtf_value_type").asInt(), b.valueType());
      assertEquals(blocks.get(i).get("value").asText(), b.value().hex());
    }
    JsonNode fields = exp.at("/parsed/response/opaque_fields");
    assertEquals(fields.size(), r.opaqueFields().size());
    for (int i = 0; i < fields.size(); i++) {
      assertEquals(fields.get(i).get("type").asInt(), r.opaqueFields().get(i).type());
      assertEquals(fields.get(i).get("value_hex").asText(), r.opaqueFields().get(i).value().hex());
    }
    assertEquals(exp.get("driver_version").asText(), r.driverVersion());
    assertEquals(exp.get("vbios_version").asText(), r.vbiosVersion());
    assertEquals(exp.get("project").asText(), r.project().orElseThrow());
    assertEquals(exp.get("project_sku").asText(), r.projectSku().orElseThrow());
    assertEquals(exp.get("chip_sku").asText(), r.chipSku().orElseThrow());
    if (exp.get("report_fwid").isNull()) {
      assertTrue(r.fwid().isEmpty());
    } else {
      assertEquals(exp.get("report_fwid").asText(), HEX.formatHex(r.fwid().orElseThrow()));
    }
    assertEquals(r, HopperReportParser.parseHex("0x" + HEX.formatHex(bytes) + "\n"));
  }

  @Test
  void toleratesTrailingBytesLikeNvmlsFixedBuffer() throws Exception {
    byte[] report = GpuFixtures.report2025();
    byte[] padded = Arrays.copyOf(report, 8192);
    HopperReport r = HopperReportParser.parse(padded);
    assertEquals(8192 - report.length, r.trailingBytes());
    assertArrayEquals(
        HopperReportParser.parse(report).signedBytes().toByteArray(),
        r.signedBytes().toByteArray());
  }

  @Test
  void everyTruncationIsMalformed() throws Exception {
    byte[] report = GpuFixtures.report2023();
    for (int len = 0; len < report.length; len++) {
      byte[] cut = Arrays.copyOf(report, len);
      GpuAttestationException e =
          assertThrows(
              GpuAttestationException.class, () -> HopperReportParser.parse(cut), "length " + len);
      assertEquals(MALFORMED_REPORT, e.reason());
    }
    GpuAttestationException e =
        assertThrows(
            GpuAttestationException.class,
            () -> HopperReportParser.parse(Arrays.copyOf(report, report.length - 1)));
    assertTrue(
        e.getMessage().contains("signature needs 96 bytes but only 95 remain"), e.getMessage());
  }

  @Test
  void oversizedReportIsRejected() {
    GpuAttestationException e =
        assertThrows(
            GpuAttestationException.class,
            () -> HopperReportParser.parse(new byte[HopperReportParser.MAX_REPORT_BYTES + 1]));
    assertTrue(e.getMessage().contains("limit"), e.getMessage());
  }

  @Test
  void headerAndLengthMutationsNameTheField() throws Exception {
    byte[] r = GpuFixtures.report2025();
    assertMalformed(set(r, 0, 0x12), "request SPDMVersion");
    assertMalformed(set(r, 1, 0xE1), "request code");
    assertMalformed(set(r, 2, 0x00), "signature requested");
    assertMalformed(set(r, 36, 9), "SlotIDParam");
    assertMalformed(set(r, 38, 0x61), "response code");
    assertMalformed(set(r, 41, 0), "NumberOfBlocks is 0");
    assertMalformed(set(r, 41, 63), "MeasurementRecordLength");
    assertMalformed(set(r, 42, 0xC1), "MeasurementRecordLength"); // record length 3521
    assertMalformed(set(r, 45 + 1, 2), "MeasurementSpecification 2 is not DMTF");
    assertMalformed(set(r, 45 + 2, 52), "size 52"); // block size 52 vs value size 48
    assertMalformed(set(r, 45 + 55, 1), "appears twice"); // second block gets index 1
    int opaqueLengthAt = 37 + 8 + 3520 + 32;
    assertMalformed(set(r, opaqueLengthAt + 1, 0xFF), "opaque data needs 65446 bytes");
    assertMalformed(
        set(r, opaqueLengthAt, 0xA7),
        "runs past OpaqueLength"); // one byte more: last field overruns
    assertMalformed(set(r, opaqueLengthAt + 2, 99), "unknown opaque field type 99");
  }

  @Test
  void seededRandomMutationsOnlyEverRaiseTypedErrors() throws Exception {
    byte[] original = GpuFixtures.report2025();
    Random random = new Random(0x5EED);
    int parsed = 0;
    for (int i = 0; i < 5000; i++) {
      byte[] m = mutate(original, random);
      try {
        HopperReportParser.parse(m);
        parsed++;
      } catch (GpuAttestationException e) {
        assertEquals(MALFORMED_REPORT, e.reason());
      }
    }
    assertTrue(parsed > 0, "some mutations (value bytes) must still parse");
  }

  static byte[] mutate(byte[] original, Random random) {
    byte[] m = original.clone();
    switch (random.nextInt(4)) {
      case 0 -> m[random.nextInt(m.length)] ^= (byte) (1 + random.nextInt(255));
      case 1 -> {
        for (int k = 0; k < 1 + random.nextInt(8); k++) {
          m[random.nextInt(m.length)] = (byte) random.nextInt(256);
        }
      }
      case 2 -> m = Arrays.copyOf(m, random.nextInt(m.length));
      default -> {
        int at = random.nextInt(120); // header and first blocks: the length fields
        m[at] = (byte) random.nextInt(256);
      }
    }
    return m;
  }

  private static byte[] set(byte[] r, int offset, int value) {
    byte[] m = r.clone();
    m[offset] = (byte) value;
    return m;
  }

  private static void assertMalformed(byte[] report, String fragment) {
    GpuAttestationException e =
        assertThrows(GpuAttestationException.class, () -> HopperReportParser.parse(report));
    assertEquals(MALFORMED_REPORT, e.reason());
    assertTrue(
        e.getMessage().contains(fragment),
        () -> "'" + e.getMessage() + "' lacks '" + fragment + "'");
  }
}
