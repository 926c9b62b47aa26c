package org.teekms.verifier.audit;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;

/**
 * The entry hash of docs/audit-log.md, written from the spec for auditors (the KMS has its own
 * writer, {@code org.teekms.kms.audit.AuditEntryHasher}; a test checks both against the spec's
 * vectors and each other):
 *
 * <pre>
 * entry_hash = SHA-256( lp("tee-kms/audit/v1") ‖ u64(seq) ‖ uuid(event_id) ‖ i64(event_time) ‖ lp(kind) ‖ lp(app_id)
 *                       ‖ lp(outcome) ‖ lp(reason) ‖ lp(detail_json) ‖ prev_hash )
 * </pre>
 */
public final class AuditChainHash {

  public static final String DOMAIN = "tee-kms/audit/v1";
  public static final int LENGTH = 32;

  /** The {@code prev_hash} of entry 1. */
  public static final Bytes GENESIS = Bytes.copyOf(new byte[LENGTH]);

  private AuditChainHash() {}

  /**
   * The hash {@code r} must carry, computed from its other fields (its {@code prevHash} included).
   */
  public static Bytes of(AuditRecord r) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 + r.detailJson().length());
    lp(out, DOMAIN.getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(
        ByteBuffer.allocate(32)
            .putLong(r.seq())
            .putLong(r.eventId().getMostSignificantBits())
            .putLong(r.eventId().getLeastSignificantBits())
            .putLong(r.eventTimeMillis())
            .array());
    lp(out, r.kind().getBytes(StandardCharsets.UTF_8));
    lp(out, r.appId().toByteArray());
    lp(out, r.outcome().getBytes(StandardCharsets.UTF_8));
    lp(out, r.reason().getBytes(StandardCharsets.UTF_8));
    lp(out, r.detailJson().getBytes(StandardCharsets.UTF_8));
    out.writeBytes(r.prevHash().toByteArray());
    return Bytes.copyOf(Digests.sha256(out.toByteArray()));
  }

  private static void lp(ByteArrayOutputStream out, byte[] value) {
    out.writeBytes(ByteBuffer.allocate(4).putInt(value.length).array());
    out.writeBytes(value);
  }
}
