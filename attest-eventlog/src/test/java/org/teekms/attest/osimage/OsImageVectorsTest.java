package org.teekms.attest.osimage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.teekms.attest.Fixtures;
import org.teekms.attest.tdx.Bytes;

/**
 * Checks the committed docs/os-image-measurement-vectors.json (written by the independent Python check,
 * {@code ra-tls/src/test/python/check_os_image_vectors.py}): the Java code reaches every output from every input.
 */
class OsImageVectorsTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void javaReproducesEveryVector() throws Exception {
    Path file = Fixtures.root().resolveSibling("docs").resolve("os-image-measurement-vectors.json");
    JsonNode vectors = new ObjectMapper().readTree(Files.readAllBytes(file));
    assertEquals(vectors.get("cmdline").get("sha384_utf16le_nul").asText(),
        HEX.formatHex(RtmrLog.cmdline(vectors.get("cmdline").get("input").asText())));
    int n = 0;
    for (JsonNode c : vectors.get("cases")) {
      JsonNode in = c.get("input");
      JsonNode out = c.get("output");
      TdxImageMeasurement image = new TdxImageMeasurement(b(in, "cmdline_sha384"), b(in, "kernel_authenticode"),
          b(in, "initrd_sha384"), TdxImageMeasurement.OVMF_PRE_202505, b(in, "mrtd_single_pass"),
          b(in, "mrtd_two_pass"), b(in, "td_hob_witness"));
      ObjectNode vm = new ObjectMapper().createObjectNode();
      vm.put("os_image_hash", "00".repeat(32));
      vm.put("memory_size", in.get("memory_size").asLong());
      vm.set("qemu_version", in.get("qemu_version"));
      vm.set("qemu_single_pass_add_pages", in.get("qemu_single_pass_add_pages"));
      VmConfig config = VmConfig.parse(new ObjectMapper().writeValueAsBytes(vm));
      AcpiDigests acpi = new AcpiDigests(b(in, "acpi_loader"), b(in, "acpi_rsdp"), b(in, "acpi_tables"));
      byte[] witness = image.tdHobWitness().toByteArray();
      assertEquals(out.get("td_hob").asText(), HEX.formatHex(TdHob.build(witness, config.memorySize())), name(c));
      assertEquals(out.get("td_hob_sha384").asText(), HEX.formatHex(TdHob.digest(witness, config.memorySize())));
      for (int i = 0; i < 13; i++) {
        assertEquals(out.get("rtmr0_events").get(i).asText(), HEX.formatHex(RtmrLog.rtmr0(
            TdHob.digest(witness, config.memorySize()), acpi).get(i)), name(c) + " RTMR0 event " + i);
      }
      TdxMeasurements m = OsImageMeasurer.measure(config, image, acpi);
      assertEquals(out.get("mrtd").asText(), m.mrtd().hex(), name(c));
      assertEquals(out.get("rtmr0").asText(), m.rtmr0().hex(), name(c));
      assertEquals(out.get("rtmr1").asText(), m.rtmr1().hex(), name(c));
      assertEquals(out.get("rtmr2").asText(), m.rtmr2().hex(), name(c));
      n++;
    }
    assertEquals(3, n);
  }

  private static String name(JsonNode c) {
    return c.get("name").asText();
  }

  private static Bytes b(JsonNode in, String field) {
    return Bytes.fromHex(in.get(field).asText());
  }
}
