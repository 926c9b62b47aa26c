package org.teekms.cli;

import java.util.List;
import java.util.UUID;
import org.teekms.crypto.Bytes;
import org.teekms.proto.AuditEvent;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.ListAuditEventsRequest;
import org.teekms.proto.ListAuditEventsResponse;
import org.teekms.verifier.audit.AuditChainReport;
import org.teekms.verifier.audit.AuditChainWalker;
import org.teekms.verifier.audit.AuditCheckpoint;
import org.teekms.verifier.audit.AuditRecord;

/** Pages through every audit entry of a KMS (Auditor API) and recomputes the chain as it goes. */
final class AuditChainFetch {

  static final int PAGE = 1000;

  private AuditChainFetch() {}

  static AuditChainReport walk(
      AuditorGrpc.AuditorBlockingStub auditor, List<AuditCheckpoint> checkpoints) {
    AuditChainWalker walker = new AuditChainWalker(checkpoints);
    long after = 0;
    // to_time far in the future: entries appended while we page are included, not cut off at "now".
    ListAuditEventsRequest.Builder req =
        ListAuditEventsRequest.newBuilder().setPageSize(PAGE).setToTime(Long.MAX_VALUE);
    while (true) {
      ListAuditEventsResponse page = auditor.listAuditEvents(req.setAfterSeq(after).build());
      for (AuditEvent e : page.getEventsList()) {
        if (!walker.accept(record(e))) {
          return walker.finish();
        }
      }
      if (page.getNextAfterSeq() == 0 || page.getEventsCount() == 0) {
        return walker.finish();
      }
      if (page.getNextAfterSeq() <= after) {
        // A KMS that pages backwards would make us loop; the walker reports the gap or repeat at
        // the next entry.
        return walker.finish();
      }
      after = page.getNextAfterSeq();
    }
  }

  /**
   * The served event as a record; an unparsable event id becomes a nil UUID, which the recomputed
   * hash rejects.
   */
  static AuditRecord record(AuditEvent e) {
    UUID id;
    try {
      id = UUID.fromString(e.getEventId());
    } catch (IllegalArgumentException bad) {
      id = new UUID(0, 0);
    }
    return new AuditRecord(
        e.getSeq(),
        id,
        e.getTime(),
        e.getKind(),
        Bytes.copyOf(e.getAppId().toByteArray()),
        e.getOutcome(),
        e.getReason(),
        e.getDetailJson(),
        Bytes.copyOf(e.getPrevHash().toByteArray()),
        Bytes.copyOf(e.getEntryHash().toByteArray()));
  }
}
