package org.teekms.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Optional;
import org.teekms.crypto.Bytes;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * dstack's quote + event log JSON (as its verifier takes it): {@code {"quote": hex, "event_log":
 * "<JSON text>"}}, optionally {@code "vm_config"} (JSON text or object) with {@code os_image_hash}
 * (and, from dstack 0.6, the {@code tdx_measurement} document; {@link #vmConfigJson} keeps its
 * exact bytes). {@code event_log} may also be the array itself.
 */
record DstackFile(
    Bytes quote, String eventLog, String vmConfigOsImageHash, Optional<Bytes> vmConfigJson) {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_BYTES = 2 * 1024 * 1024;

  static DstackFile read(CommandSpec spec, Path file) {
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw new ParameterException(
            spec.commandLine(), "--dstack " + file + " is larger than " + MAX_BYTES);
      }
      JsonNode root = JSON.readTree(Files.readAllBytes(file));
      if (root == null
          || !root.isObject()
          || !root.path("quote").isTextual()
          || root.get("event_log") == null) {
        throw new ParameterException(
            spec.commandLine(),
            "--dstack " + file + ": expected {\"quote\": hex, \"event_log\": ...}");
      }
      String q = root.get("quote").asText().strip();
      byte[] quote = HexFormat.of().parseHex(q.startsWith("0x") ? q.substring(2) : q);
      JsonNode log = root.get("event_log");
      String eventLog = log.isTextual() ? log.asText() : JSON.writeValueAsString(log);
      String osImageHash = null;
      JsonNode vm = root.get("vm_config");
      byte[] vmConfigJson = null;
      if (vm != null && vm.isTextual() && !vm.asText().isBlank()) {
        vmConfigJson = vm.asText().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        vm = JSON.readTree(vm.asText());
      } else if (vm != null && vm.isObject()) {
        vmConfigJson = JSON.writeValueAsBytes(vm);
      }
      if (vm != null && vm.path("os_image_hash").isTextual()) {
        osImageHash = vm.get("os_image_hash").asText();
      }
      return new DstackFile(
          Bytes.copyOf(quote),
          eventLog,
          osImageHash,
          Optional.ofNullable(vmConfigJson).map(Bytes::copyOf));
    } catch (IOException | IllegalArgumentException e) {
      throw new ParameterException(
          spec.commandLine(), "--dstack " + file + " cannot be read: " + e.getMessage());
    }
  }
}
