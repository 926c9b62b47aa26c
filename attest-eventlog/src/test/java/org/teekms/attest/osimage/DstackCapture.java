package org.teekms.attest.osimage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.teekms.attest.Fixtures;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.attest.tdx.TdxQuote;

/**
 * A real dstack GetQuote-style capture from {@code testdata/dstack/}: quote, event log, vm_config.
 */
record DstackCapture(
    QuotedMeasurements quoted,
    List<EventLogEntry> eventLog,
    String eventLogJson,
    ObjectNode vmConfig) {
  static final ObjectMapper JSON = new ObjectMapper();

  /** dstack 0.6.0 "lite" capture (meta-dstack e2e), with tdx_measurement. */
  static final String LITE = "dstack/tdx-lite-getquote.json";

  /** dstack verifier's older capture (legacy, 64 GiB, no tdx_measurement). */
  static final String LEGACY = "dstack/quote-report.json";

  static DstackCapture load(String fixture) throws Exception {
    JsonNode root = JSON.readTree(Fixtures.bytes(fixture));
    TdxQuote quote =
        TdxQuote.parse(
            TdxQuote.decodeFile(root.get("quote").asText().getBytes(StandardCharsets.UTF_8)));
    String log = root.get("event_log").asText();
    JsonNode vm = root.get("vm_config");
    ObjectNode vmConfig = (ObjectNode) (vm.isTextual() ? JSON.readTree(vm.asText()) : vm);
    return new DstackCapture(
        QuotedMeasurements.of(quote.tdReport()), DstackEventLogCodec.parse(log), log, vmConfig);
  }

  byte[] vmConfigBytes() throws Exception {
    return JSON.writeValueAsBytes(vmConfig);
  }

  ObjectNode vmConfigCopy() {
    return vmConfig.deepCopy();
  }

  OsImageVerdict verify(ObjectNode vm) throws Exception {
    return OsImageVerifier.verify(quoted, JSON.writeValueAsBytes(vm), eventLog);
  }
}
