package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.teekms.attest.eventlog.BootIdentity;
import org.teekms.attest.eventlog.EventLogCheck;
import org.teekms.attest.tdx.TdReport;

/** Renders an event-log check as the {@code "eventLog"} member of the verify commands' JSON (README contract). */
final class EventLogJson {
  private EventLogJson() {}

  /**
   * @param vmConfigOsImageHash dstack's vm_config os_image_hash, used (and labelled as unmeasured) when the log has
   *     no {@code os-image-hash} event; may be null
   * @return whether the log replayed
   */
  static boolean put(ObjectNode out, String eventLogJson, TdReport td, String vmConfigOsImageHash) {
    ObjectNode e = out.putObject("eventLog");
    EventLogCheck check = EventLogCheck.of(eventLogJson, td);
    e.put("replayed", check.replayed());
    check.error().ifPresent(err -> e.put("error", err));
    BootIdentity id = check.verified().map(v -> v.identity()).orElse(null);
    e.put("appId", id == null ? null : id.appId().hex());
    e.put("composeHash", id == null ? null : id.composeHash().hex());
    e.put("instanceId", id == null ? null : id.instanceId().hex());
    if (id != null && id.osImageHash().isPresent()) {
      e.put("osImageHash", id.osImageHash().get().hex());
      e.put("osImageHashSource", "event");
    } else if (id != null && vmConfigOsImageHash != null) {
      e.put("osImageHash", vmConfigOsImageHash);
      e.put("osImageHashSource", "vm_config (not measured in the event log)");
    } else {
      e.putNull("osImageHash");
    }
    e.put("keyProvider", id == null ? null : id.keyProvider().orElse(null));
    e.put("rtmr3", check.rtmr3().map(b -> b.hex()).orElse(null));
    if (check.verified().isPresent()) {
      e.put("mrAggregated", check.verified().get().mrAggregated().hex());
      e.put("systemReady", id.systemReady());
      id.gpuEvidenceHash().ifPresent(h -> e.put("gpuEvidenceHash", h.hex()));
    }
    return check.replayed();
  }
}
