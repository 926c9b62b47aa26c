package org.teekms.kms.app;

import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import java.time.Duration;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditEntryHasher;
import org.teekms.kms.audit.AuditLog;

/**
 * A careful forger of the audit log, for the tests that must catch one: rewrites the entries from a
 * sequence number on with one detail changed, and recomputes every hash and the head, so the
 * database alone still verifies.
 */
final class AuditForger {
  private AuditForger() {}

  /** Forges entries seq >= {@code from} (the detail of entry {@code from} changed). */
  static void rewriteFrom(Pool pool, long from, Duration wait) {
    var rows =
        pool.preparedQuery("SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq")
            .execute(Tuple.of(from - 1))
            .await()
            .atMost(wait);
    byte[] prev = AuditEntryHasher.genesisHash();
    for (Row r : rows) {
      AuditEntry e = AuditLog.read(r);
      if (e.seq() < from) {
        prev = e.entryHash().toByteArray();
        continue;
      }
      String detail = e.seq() == from ? "{\"forged\":true}" : e.detailJson();
      byte[] hash =
          AuditEntryHasher.hash(
              e.seq(),
              e.eventId(),
              e.eventTimeMillis(),
              e.kind(),
              e.appId().toByteArray(),
              e.outcome().name(),
              e.reason(),
              detail,
              prev);
      pool.preparedQuery(
              "UPDATE audit_log SET detail_json = $1, prev_hash = $2, entry_hash = $3 WHERE seq = $4")
          .execute(
              Tuple.tuple()
                  .addString(detail)
                  .addBuffer(Buffer.buffer(prev))
                  .addBuffer(Buffer.buffer(hash))
                  .addLong(e.seq()))
          .await()
          .atMost(wait);
      prev = hash;
    }
    pool.preparedQuery("UPDATE audit_head SET entry_hash = $1")
        .execute(Tuple.tuple().addBuffer(Buffer.buffer(prev)))
        .await()
        .atMost(wait);
  }
}
