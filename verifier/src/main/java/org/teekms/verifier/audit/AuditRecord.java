package org.teekms.verifier.audit;

import java.util.UUID;
import org.teekms.crypto.Bytes;

/**
 * One audit log entry as the KMS serves it (Auditor API {@code ListAuditEvents}), every field as
 * stored: an auditor recomputes {@code entryHash} from the others rather than believing it
 * (docs/audit-log.md).
 */
public record AuditRecord(
    long seq,
    UUID eventId,
    long eventTimeMillis,
    String kind,
    Bytes appId,
    String outcome,
    String reason,
    String detailJson,
    Bytes prevHash,
    Bytes entryHash) {

  public AuditRecord {
    if (eventId == null
        || kind == null
        || appId == null
        || outcome == null
        || reason == null
        || detailJson == null
        || prevHash == null
        || entryHash == null) {
      throw new IllegalArgumentException("audit record fields must not be null");
    }
  }
}
