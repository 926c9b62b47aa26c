package org.teekms.kms.audit;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.teekms.crypto.Digests;

/**
 * The canonical encoding and hash of an audit entry (docs/audit-log.md, "Entry hash"):
 *
 * <pre>
 * entry_hash = SHA-256( lp("tee-kms/audit/v1") ‖ u64(seq) ‖ uuid(event_id) ‖ i64(event_time_ms) ‖ lp(kind)
 *                       ‖ lp(app_id) ‖ lp(outcome) ‖ lp(reason) ‖ lp(detail_json) ‖ prev_hash )
 * </pre>
 *
 * where {@code lp(x)} is a 4-byte big-endian length followed by the bytes (strings as UTF-8),
 * integers are big-endian, a UUID is its 16 bytes (most significant half first) and {@code
 * prev_hash} is the previous entry's 32-byte hash (32 zero bytes before the first entry).
 */
public final class AuditEntryHasher {

  public static final String DOMAIN = "tee-kms/audit/v1";
  public static final int HASH_LENGTH = 32;

  private AuditEntryHasher() {}

  public static byte[] genesisHash() {
    return new byte[HASH_LENGTH];
  }

  public static byte[] hash(
      long seq,
      UUID eventId,
      long eventTimeMillis,
      String kind,
      byte[] appId,
      String outcome,
      String reason,
      String detailJson,
      byte[] prevHash) {
    if (prevHash.length != HASH_LENGTH) {
      throw new IllegalArgumentException("prev_hash must be 32 bytes, got " + prevHash.length);
    }
    return sha256(
        encode(seq, eventId, eventTimeMillis, kind, appId, outcome, reason, detailJson, prevHash));
  }

  public static byte[] hash(AuditEntry e) {
    return hash(
        e.seq(),
        e.eventId(),
        e.eventTimeMillis(),
        e.kind(),
        e.appId().toByteArray(),
        e.outcome().name(),
        e.reason(),
        e.detailJson(),
        e.prevHash().toByteArray());
  }

  /**
   * The exact bytes hashed; public so other implementations can be tested against
   * docs/audit-log.md.
   */
  public static byte[] encode(
      long seq,
      UUID eventId,
      long eventTimeMillis,
      String kind,
      byte[] appId,
      String outcome,
      String reason,
      String detailJson,
      byte[] prevHash) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 + detailJson.length());
    lengthPrefixed(out, DOMAIN.getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(
        ByteBuffer.allocate(8 + 16 + 8)
            .putLong(seq)
            .putLong(eventId.getMostSignificantBits())
            .putLong(eventId.getLeastSignificantBits())
            .putLong(eventTimeMillis)
            .array());
    lengthPrefixed(out, kind.getBytes(StandardCharsets.UTF_8));
    lengthPrefixed(out, appId);
    lengthPrefixed(out, outcome.getBytes(StandardCharsets.UTF_8));
    lengthPrefixed(out, reason.getBytes(StandardCharsets.UTF_8));
    lengthPrefixed(out, detailJson.getBytes(StandardCharsets.UTF_8));
    out.writeBytes(prevHash);
    return out.toByteArray();
  }

  private static void lengthPrefixed(ByteArrayOutputStream out, byte[] bytes) {
    out.writeBytes(ByteBuffer.allocate(4).putInt(bytes.length).array());
    out.writeBytes(bytes);
  }

  private static byte[] sha256(byte[] data) {
    return Digests.sha256(data);
  }
}
