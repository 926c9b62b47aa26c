package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.EventLogException;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.attest.osimage.OsImageVerdict;
import org.teekms.attest.osimage.OsImageVerifier;
import org.teekms.attest.osimage.TdxMeasurements;
import org.teekms.attest.tdx.TdReport;

/**
 * The {@code "osImage"} object of {@code teekms verify os-image} and {@code verify quote --dstack}
 * (README contract): {@code {"verified", "osImageHash", "expected": {mrtd, rtmr0..2}, "actual":
 * {…}, "mismatches": [...], "failure", "error"}}.
 */
final class OsImageJson {
  private OsImageJson() {}

  /**
   * Checks the OS image of {@code td} against the vm_config and event log and renders the verdict.
   */
  static ObjectNode check(TdReport td, byte[] vmConfigJson, String eventLogJson) {
    java.util.List<EventLogEntry> log;
    try {
      log = DstackEventLogCodec.parse(eventLogJson);
    } catch (EventLogException e) {
      ObjectNode o = VerifyQuoteCommand.JSON.createObjectNode();
      o.put("verified", false);
      o.putNull("osImageHash");
      o.putNull("expected");
      put(o, "actual", TdxMeasurements.of(QuotedMeasurements.of(td)));
      o.putArray("mismatches");
      o.put("failure", "EVENT_LOG_INVALID");
      o.put("error", "EVENT_LOG_INVALID: " + e.getMessage());
      return o;
    }
    return toJson(OsImageVerifier.verify(td, vmConfigJson, log));
  }

  static ObjectNode toJson(OsImageVerdict v) {
    ObjectNode o = VerifyQuoteCommand.JSON.createObjectNode();
    o.put("verified", v.verified());
    o.put("osImageHash", v.osImageHash() == null ? null : v.osImageHash().hex());
    put(o, "expected", v.expected());
    put(o, "actual", v.actual());
    ArrayNode m = o.putArray("mismatches");
    v.mismatches().forEach(m::add);
    o.put("failure", v.failure() == null ? null : v.failure().name());
    o.put("error", v.error());
    return o;
  }

  static void put(ObjectNode o, String field, TdxMeasurements mrs) {
    if (mrs == null) {
      o.putNull(field);
      return;
    }
    ObjectNode r = o.putObject(field);
    for (Map.Entry<String, String> e : mrs.toHexMap().entrySet()) {
      r.put(e.getKey(), e.getValue());
    }
  }
}
