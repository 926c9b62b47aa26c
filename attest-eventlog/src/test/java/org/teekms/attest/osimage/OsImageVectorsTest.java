package org.teekms.attest.osimage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.teekms.attest.Fixtures;
import org.teekms.crypto.Bytes;

/**
 * Checks the committed docs/os-image-measurement-vectors.json (written by the independent Python
 * check, {@code attest-eventlog/src/test/python/check_os_image_vectors.py}): the Java code reaches
 * every output from every input, one test per vector.
 */
class OsImageVectorsTest {
  private static final HexFormat HEX = HexFormat.of();

  private static JsonNode vectors() throws IOException {
    Path file = Fixtures.root().resolveSibling("docs").resolve("os-image-measurement-vectors.json");
    return new ObjectMapper().readTree(Files.readAllBytes(file));
  }

  static List<Named<JsonNode>> cases() throws IOException {
    List<Named<JsonNode>> out = new ArrayList<>();
    for (JsonNode c : vectors().get("cases")) {
      out.add(Named.of(c.get("name").asText(), c));
    }
    return out;
  }

  @Test
  void theVectorFileHoldsTheThreeCasesAndTheCmdlineVector() throws Exception {
    JsonNode vectors = vectors();
    assertEquals(3, vectors.get("cases").size());
    assertEquals(
        vectors.get("cmdline").get("sha384_utf16le_nul").asText(),
        HEX.formatHex(RtmrLog.cmdline(vectors.get("cmdline").get("input").asText())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void javaReproducesTheVector(JsonNode c) throws Exception {
    JsonNode in = c.get("input");
    JsonNode out = c.get("output");
    TdxImageMeasurement image =
        new TdxImageMeasurement(
            b(in, "cmdline_sha384"),
            b(in, "kernel_authenticode"),
            b(in, "initrd_sha384"),
            TdxImageMeasurement.OVMF_PRE_202505,
            b(in, "mrtd_single_pass"),
            b(in, "mrtd_two_pass"),
            b(in, "td_hob_witness"));
    ObjectNode vm = new ObjectMapper().createObjectNode();
    vm.put("os_image_hash", "00".repeat(32));
    vm.put("memory_size", in.get("memory_size").asLong());
    vm.set("qemu_version", in.get("qemu_version"));
    vm.set("qemu_single_pass_add_pages", in.get("qemu_single_pass_add_pages"));
    VmConfig config = VmConfig.parse(new ObjectMapper().writeValueAsBytes(vm));
    AcpiDigests acpi =
        new AcpiDigests(b(in, "acpi_loader"), b(in, "acpi_rsdp"), b(in, "acpi_tables"));
    byte[] witness = image.tdHobWitness().toByteArray();
    assertEquals(
        out.get("td_hob").asText(), HEX.formatHex(TdHob.build(witness, config.memorySize())));
    assertEquals(
        out.get("td_hob_sha384").asText(),
        HEX.formatHex(TdHob.digest(witness, config.memorySize())));
    for (int i = 0; i < 13; i++) {
      assertEquals(
          out.get("rtmr0_events").get(i).asText(),
          HEX.formatHex(RtmrLog.rtmr0(TdHob.digest(witness, config.memorySize()), acpi).get(i)),
          "RTMR0 event " + i);
    }
    TdxMeasurements m = OsImageMeasurer.measure(config, image, acpi);
    assertEquals(out.get("mrtd").asText(), m.mrtd().hex());
    assertEquals(out.get("rtmr0").asText(), m.rtmr0().hex());
    assertEquals(out.get("rtmr1").asText(), m.rtmr1().hex());
    assertEquals(out.get("rtmr2").asText(), m.rtmr2().hex());
  }

  private static Bytes b(JsonNode in, String field) {
    return Bytes.fromHex(in.get(field).asText());
  }
}
