package org.teekms.kms.audit;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;

/**
 * One stored, chained audit log entry. {@link AuditEntryHasher} recomputes {@code entryHash} from
 * the rest.
 */
public record AuditEntry(
    long seq,
    UUID eventId,
    long eventTimeMillis,
    String kind,
    byte[] appId,
    AuditDraft.Outcome outcome,
    String reason,
    String detailJson,
    byte[] prevHash,
    byte[] entryHash) {

  public AuditEntry {
    appId = appId.clone();
    prevHash = prevHash.clone();
    entryHash = entryHash.clone();
  }

  @Override
  public byte[] appId() {
    return appId.clone();
  }

  @Override
  public byte[] prevHash() {
    return prevHash.clone();
  }

  @Override
  public byte[] entryHash() {
    return entryHash.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AuditEntry e
        && seq == e.seq
        && eventId.equals(e.eventId)
        && eventTimeMillis == e.eventTimeMillis
        && kind.equals(e.kind)
        && Arrays.equals(appId, e.appId)
        && outcome == e.outcome
        && reason.equals(e.reason)
        && detailJson.equals(e.detailJson)
        && Arrays.equals(prevHash, e.prevHash)
        && Arrays.equals(entryHash, e.entryHash);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(seq) * 31 + eventId.hashCode();
  }

  @Override
  public String toString() {
    return "AuditEntry[seq="
        + seq
        + ", eventId="
        + eventId
        + ", kind="
        + kind
        + ", appId="
        + HexFormat.of().formatHex(appId)
        + ", outcome="
        + outcome
        + ", reason="
        + reason
        + ", entryHash="
        + HexFormat.of().formatHex(entryHash)
        + "]";
  }
}
