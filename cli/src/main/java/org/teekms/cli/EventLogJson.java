package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.teekms.attest.eventlog.BootIdentity;
import org.teekms.attest.eventlog.EventLogCheck;
import org.teekms.attest.eventlog.MrConfigId;
import org.teekms.attest.tdx.TdReport;

/**
 * Renders an event-log check as the {@code "eventLog"} member of the verify commands' JSON (README
 * contract).
 */
final class EventLogJson {
  private EventLogJson() {}

  /**
   * @param vmConfigOsImageHash dstack's vm_config os_image_hash, used (and labelled as unmeasured)
   *     when the log has no {@code os-image-hash} event; may be null
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

  /**
   * After {@link #put} replayed the log: whether the TD's launch configuration (MRCONFIGID) names
   * the compose the log measured (docs/ra-tls.md §1.3). Puts {@code eventLog.mrConfigId} ({@code
   * binds the compose hash}, {@code zero (not bound)} or {@code MISMATCH}); returns {@code
   * {"MR_CONFIG_ID_MISMATCH", detail}} on a mismatch.
   */
  static java.util.Optional<String[]> mrConfigId(ObjectNode out, TdReport td) {
    ObjectNode e = (ObjectNode) out.get("eventLog");
    java.util.Optional<String> mismatch =
        MrConfigId.mismatch(
            td.mrConfigId(), org.teekms.crypto.Bytes.fromHex(e.get("composeHash").asText()));
    e.put(
        "mrConfigId",
        mismatch.isPresent()
            ? "MISMATCH"
            : td.mrConfigId().isAllZero() ? "zero (not bound)" : "binds the compose hash");
    return mismatch.map(m -> new String[] {"MR_CONFIG_ID_MISMATCH", m});
  }
}
