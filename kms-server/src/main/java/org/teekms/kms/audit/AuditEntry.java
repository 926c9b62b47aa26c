package org.teekms.kms.audit;

import java.util.UUID;
import org.teekms.crypto.Bytes;

/**
 * One stored, chained audit log entry. {@link AuditEntryHasher} recomputes {@code entryHash} from
 * the rest. The app id is the stored bytes as read (empty for an entry about no app; 20 bytes
 * otherwise, which the hash, not this type, vouches for), so a tampered row still reads and fails
 * verification with its precise reason. Compares by value.
 */
public record AuditEntry(
    long seq,
    UUID eventId,
    long eventTimeMillis,
    String kind,
    Bytes appId,
    AuditDraft.Outcome outcome,
    String reason,
    String detailJson,
    Bytes prevHash,
    Bytes entryHash) {

  /** Without the detail and the previous hash: a line for logs, not a dump. */
  @Override
  public String toString() {
    return "AuditEntry[seq="
        + seq
        + ", eventId="
        + eventId
        + ", kind="
        + kind
        + ", appId="
        + appId
        + ", outcome="
        + outcome
        + ", reason="
        + reason
        + ", entryHash="
        + entryHash
        + "]";
  }
}
