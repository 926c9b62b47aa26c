package org.teekms.verifier.audit;

import java.util.UUID;
import org.teekms.crypto.Bytes;

/**
 * A test data builder for {@link AuditRecord} (ten positional fields): start from an existing
 * record and change only what the test is about, e.g. {@code
 * AuditRecordBuilder.from(e).kind("X").build()}.
 */
final class AuditRecordBuilder {
  private long seq;
  private UUID eventId;
  private long eventTimeMillis;
  private String kind;
  private Bytes appId;
  private String outcome;
  private String reason;
  private String detailJson;
  private Bytes prevHash;
  private Bytes entryHash;

  private AuditRecordBuilder() {}

  static AuditRecordBuilder from(AuditRecord e) {
    AuditRecordBuilder b = new AuditRecordBuilder();
    b.seq = e.seq();
    b.eventId = e.eventId();
    b.eventTimeMillis = e.eventTimeMillis();
    b.kind = e.kind();
    b.appId = e.appId();
    b.outcome = e.outcome();
    b.reason = e.reason();
    b.detailJson = e.detailJson();
    b.prevHash = e.prevHash();
    b.entryHash = e.entryHash();
    return b;
  }

  AuditRecordBuilder seq(long value) {
    seq = value;
    return this;
  }

  AuditRecordBuilder eventId(UUID value) {
    eventId = value;
    return this;
  }

  AuditRecordBuilder eventTimeMillis(long value) {
    eventTimeMillis = value;
    return this;
  }

  AuditRecordBuilder kind(String value) {
    kind = value;
    return this;
  }

  AuditRecordBuilder appId(Bytes value) {
    appId = value;
    return this;
  }

  AuditRecordBuilder outcome(String value) {
    outcome = value;
    return this;
  }

  AuditRecordBuilder reason(String value) {
    reason = value;
    return this;
  }

  AuditRecordBuilder detailJson(String value) {
    detailJson = value;
    return this;
  }

  AuditRecordBuilder prevHash(Bytes value) {
    prevHash = value;
    return this;
  }

  AuditRecordBuilder entryHash(Bytes value) {
    entryHash = value;
    return this;
  }

  AuditRecord build() {
    return new AuditRecord(
        seq,
        eventId,
        eventTimeMillis,
        kind,
        appId,
        outcome,
        reason,
        detailJson,
        prevHash,
        entryHash);
  }
}
