package org.teekms.kms.audit;

import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;

/**
 * An audit entry before it is chained: what happened, to which app, allowed or denied and why. The
 * detail is JSON text stored and hashed byte for byte as given (see {@link AuditDetail} for the
 * canonical form we write); it must never contain key material. An entry about no app (a root
 * generation, custody) has no app id. Compares by value.
 */
public record AuditDraft(
    UUID eventId,
    String kind,
    Optional<AppId> appId,
    Outcome outcome,
    String reason,
    String detailJson) {

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
    Objects.requireNonNull(appId, "appId");
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

  /**
   * @param app the app, or null for an entry about no app
   */
  public static AuditDraft allowed(String kind, AppId app, String detailJson) {
    return new AuditDraft(
        UUID.randomUUID(), kind, Optional.ofNullable(app), Outcome.ALLOWED, "", detailJson);
  }

  /**
   * @param app the app, or null for an entry about no app
   */
  public static AuditDraft denied(String kind, AppId app, String reason, String detailJson) {
    return new AuditDraft(
        UUID.randomUUID(), kind, Optional.ofNullable(app), Outcome.DENIED, reason, detailJson);
  }

  /** The app id as stored and hashed: its 20 bytes, or none. */
  public Bytes appIdBytes() {
    return appId.map(a -> Bytes.copyOf(a.toBytes())).orElse(Bytes.EMPTY);
  }
}
