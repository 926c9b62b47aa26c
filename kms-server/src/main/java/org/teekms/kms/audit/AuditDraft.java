package org.teekms.kms.audit;

import java.util.Arrays;
import java.util.Objects;
import java.util.UUID;

/**
 * An audit entry before it is chained: what happened, to which app, allowed or denied and why. The
 * detail is JSON text stored and hashed byte for byte as given (see {@link AuditDetail} for the
 * canonical form we write); it must never contain key material.
 */
public record AuditDraft(
    UUID eventId, String kind, byte[] appId, Outcome outcome, String reason, String detailJson) {

  /** Entries with a longer detail are refused: the log is for facts, not payloads. */
  public static final int MAX_DETAIL_CHARS = 16 * 1024;

  public enum Outcome {
    ALLOWED,
    DENIED
  }

  public AuditDraft {
    Objects.requireNonNull(eventId, "eventId");
    Objects.requireNonNull(outcome, "outcome");
    if (kind == null || !kind.matches("[A-Z][A-Z_]{0,31}")) {
      throw new IllegalArgumentException(
          "audit kind must be 1-32 upper-case letters/underscores: " + kind);
    }
    appId = appId == null ? new byte[0] : appId.clone();
    if (appId.length != 0 && appId.length != 20) {
      throw new IllegalArgumentException("app id must be 20 bytes (or empty), got " + appId.length);
    }
    reason = reason == null ? "" : reason;
    if (outcome == Outcome.DENIED && reason.isEmpty()) {
      throw new IllegalArgumentException("a denial needs a reason");
    }
    Objects.requireNonNull(detailJson, "detailJson");
    if (detailJson.length() > MAX_DETAIL_CHARS) {
      throw new IllegalArgumentException(
          "audit detail too long: " + detailJson.length() + " chars");
    }
  }

  public static AuditDraft allowed(String kind, byte[] appId, String detailJson) {
    return new AuditDraft(UUID.randomUUID(), kind, appId, Outcome.ALLOWED, "", detailJson);
  }

  public static AuditDraft denied(String kind, byte[] appId, String reason, String detailJson) {
    return new AuditDraft(UUID.randomUUID(), kind, appId, Outcome.DENIED, reason, detailJson);
  }

  @Override
  public byte[] appId() {
    return appId.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AuditDraft d
        && eventId.equals(d.eventId)
        && kind.equals(d.kind)
        && Arrays.equals(appId, d.appId)
        && outcome == d.outcome
        && reason.equals(d.reason)
        && detailJson.equals(d.detailJson);
  }

  @Override
  public int hashCode() {
    return eventId.hashCode();
  }
}
