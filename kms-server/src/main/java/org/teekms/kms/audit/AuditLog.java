package org.teekms.kms.audit;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The append-only, hash-chained audit log in PostgreSQL (docs/audit-log.md).
 *
 * <p>{@link #append} runs inside the caller's transaction, so an entry commits or rolls back together with the grant
 * it records; it locks the chain head row, which serializes appends across threads and replicas for the (short)
 * rest of that transaction. {@link #commit} and {@link #appendAlone} write in transactions of their own, group-committed
 * ({@link AuditGroupCommit}).
 */
public final class AuditLog {

  static final int VERIFY_PAGE = 1000;

  private final Pool pool;
  private final Clock clock;
  private final AuditGroupCommit groupCommit;

  public AuditLog(Pool pool, Clock clock) {
    this.pool = pool;
    this.clock = clock;
    this.groupCommit = new AuditGroupCommit(pool, this);
  }

  /**
   * A row written in the same transaction as an audit entry (the grant it records): {@code sql} with parameters made
   * from the entry once its sequence number is known.
   */
  public record FollowUp(String sql, Function<AuditEntry, Tuple> parameters) {}

  /** One entry to append and its follow-up row (null for none). */
  record Append(AuditDraft draft, FollowUp followUp) {}

  /** Appends one entry in the transaction {@code tx} belongs to. Fails (and so fails the transaction) on any error. */
  public Uni<AuditEntry> append(SqlConnection tx, AuditDraft draft) {
    return appendAll(tx, List.of(new Append(draft, null))).map(entries -> entries.get(0));
  }

  /**
   * Appends one entry, and its follow-up row if not null, committed when the Uni completes: group-committed with the
   * entries other threads append meanwhile (see {@link AuditGroupCommit}).
   */
  public Uni<AuditEntry> commit(AuditDraft draft, FollowUp followUp) {
    return groupCommit.submit(draft, followUp);
  }

  /** Appends one entry that has no other row with it (denials, operator requests); committed when the Uni completes. */
  public Uni<AuditEntry> appendAlone(AuditDraft draft) {
    return commit(draft, null);
  }

  /**
   * Appends {@code appends} in order in the transaction {@code tx} belongs to, each with its follow-up row: one head
   * lock, the rows sent as pipelined batches.
   */
  Uni<List<AuditEntry>> appendAll(SqlConnection tx, List<Append> appends) {
    return tx.query("SELECT seq, entry_hash FROM audit_head FOR UPDATE").execute()
        .onItem().transformToUni(rows -> {
          if (rows.size() != 1) {
            return Uni.createFrom().failure(new IllegalStateException("audit_head must hold exactly one row, found " + rows.size()));
          }
          Row head = rows.iterator().next();
          long seq = head.getLong("seq");
          byte[] prev = head.getBuffer("entry_hash").getBytes();
          long now = clock.millis();
          List<AuditEntry> entries = new ArrayList<>(appends.size());
          List<Tuple> inserts = new ArrayList<>(appends.size());
          Map<String, List<Tuple>> followUpRows = new LinkedHashMap<>();
          for (Append append : appends) {
            AuditDraft draft = append.draft();
            seq++;
            byte[] hash = AuditEntryHasher.hash(seq, draft.eventId(), now, draft.kind(), draft.appId(),
                draft.outcome().name(), draft.reason(), draft.detailJson(), prev);
            AuditEntry entry = new AuditEntry(seq, draft.eventId(), now, draft.kind(), draft.appId(), draft.outcome(),
                draft.reason(), draft.detailJson(), prev, hash);
            entries.add(entry);
            inserts.add(Tuple.tuple().addLong(seq).addUUID(draft.eventId()).addLong(now).addString(draft.kind())
                .addBuffer(Buffer.buffer(draft.appId())).addString(draft.outcome().name()).addString(draft.reason())
                .addString(draft.detailJson()).addBuffer(Buffer.buffer(prev)).addBuffer(Buffer.buffer(hash)));
            FollowUp f = append.followUp();
            if (f != null) {
              followUpRows.computeIfAbsent(f.sql(), k -> new ArrayList<>()).add(f.parameters().apply(entry));
            }
            prev = hash;
          }
          Uni<?> written = tx.preparedQuery("INSERT INTO audit_log (seq, event_id, event_time, kind, app_id, outcome, "
              + "reason, detail_json, prev_hash, entry_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
              .executeBatch(inserts);
          for (Map.Entry<String, List<Tuple>> rowsOfSql : followUpRows.entrySet()) {
            written = written.chain(() -> tx.preparedQuery(rowsOfSql.getKey()).executeBatch(rowsOfSql.getValue()));
          }
          AuditEntry last = entries.get(entries.size() - 1);
          return written.chain(() -> tx.preparedQuery("UPDATE audit_head SET seq = $1, entry_hash = $2")
                  .execute(Tuple.tuple().addLong(last.seq()).addBuffer(Buffer.buffer(last.entryHash()))))
              .replaceWith(entries);
        });
  }

  /**
   * Entries with {@code seq > afterSeq}, oldest first, optionally for one app and a time range [from, to).
   *
   * @param appId null for every app
   * @param toMillis exclusive; {@code Long.MAX_VALUE} for no upper bound
   */
  public Uni<List<AuditEntry>> list(byte[] appId, long fromMillis, long toMillis, long afterSeq, int limit) {
    if (limit < 1 || limit > 1000) {
      throw new IllegalArgumentException("limit must be 1..1000, got " + limit);
    }
    String sql = "SELECT * FROM audit_log WHERE seq > $1 AND event_time >= $2 AND event_time < $3"
        + (appId == null ? "" : " AND app_id = $5") + " ORDER BY seq LIMIT $4";
    Tuple args = Tuple.of(afterSeq, fromMillis, toMillis, limit);
    if (appId != null) {
      args.addBuffer(Buffer.buffer(appId));
    }
    return pool.preparedQuery(sql).execute(args).map(rows -> {
      List<AuditEntry> out = new ArrayList<>(rows.size());
      rows.forEach(r -> out.add(read(r)));
      return out;
    });
  }

  /** Entries by event id (= grant id for grants). */
  public Uni<AuditEntry> byEventId(java.util.UUID eventId) {
    return pool.preparedQuery("SELECT * FROM audit_log WHERE event_id = $1").execute(Tuple.of(eventId))
        .map(rows -> rows.size() == 0 ? null : read(rows.iterator().next()));
  }

  /**
   * Recomputes the whole chain from the genesis hash, page by page, and compares it with the head row. Detects an
   * edited entry (hash mismatch), a deleted one (sequence gap or head mismatch), reordered ones (prev_hash mismatch)
   * and a truncated tail (head mismatch).
   */
  public Uni<ChainVerification> verify() {
    // One snapshot for the whole walk, so appends running meanwhile cannot look like a head mismatch.
    return pool.withTransaction(tx -> tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute()
        .chain(() -> verifyFrom(tx, 0, AuditEntryHasher.genesisHash(), 0)));
  }

  private Uni<ChainVerification> verifyFrom(SqlClient client, long afterSeq, byte[] running, long checked) {
    return client.preparedQuery("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
        .execute(Tuple.of(afterSeq, VERIFY_PAGE))
        .onItem().transformToUni(rows -> {
          long expected = afterSeq + 1;
          byte[] prev = running;
          long count = checked;
          for (Row row : rows) {
            AuditEntry e;
            try {
              e = read(row);
            } catch (RuntimeException bad) {
              return Uni.createFrom().item(ChainVerification.broken(count, prev, row.getLong("seq"),
                  "unreadable entry: " + bad.getMessage()));
            }
            if (e.seq() != expected) {
              return Uni.createFrom().item(ChainVerification.broken(count, prev, expected,
                  "sequence gap: expected seq " + expected + ", found " + e.seq() + " (entry deleted?)"));
            }
            if (!MessageDigest.isEqual(e.prevHash(), prev)) {
              return Uni.createFrom().item(ChainVerification.broken(count, prev, e.seq(),
                  "prev_hash does not match the previous entry's hash (entries reordered or replaced?)"));
            }
            if (!MessageDigest.isEqual(AuditEntryHasher.hash(e), e.entryHash())) {
              return Uni.createFrom().item(ChainVerification.broken(count, prev, e.seq(),
                  "entry_hash does not match the entry's content (entry edited?)"));
            }
            prev = e.entryHash();
            expected++;
            count++;
          }
          if (rows.size() == VERIFY_PAGE) {
            return verifyFrom(client, expected - 1, prev, count);
          }
          byte[] last = prev;
          long total = count;
          return client.query("SELECT seq, entry_hash FROM audit_head").execute().map(head -> {
            if (head.size() != 1) {
              return ChainVerification.broken(total, last, total + 1, "audit_head must hold exactly one row");
            }
            Row h = head.iterator().next();
            if (h.getLong("seq") != total || !MessageDigest.isEqual(h.getBuffer("entry_hash").getBytes(), last)) {
              return ChainVerification.broken(total, last, total + 1, "chain ends at seq " + total
                  + " but the head records seq " + h.getLong("seq") + " (tail deleted or head rewritten?)");
            }
            return ChainVerification.ok(total, last);
          });
        });
  }

  /** Maps an {@code audit_log} row. */
  public static AuditEntry read(Row r) {
    return new AuditEntry(r.getLong("seq"), r.getUUID("event_id"), r.getLong("event_time"), r.getString("kind"),
        r.getBuffer("app_id").getBytes(), AuditDraft.Outcome.valueOf(r.getString("outcome")), r.getString("reason"),
        r.getString("detail_json"), r.getBuffer("prev_hash").getBytes(), r.getBuffer("entry_hash").getBytes());
  }
}
