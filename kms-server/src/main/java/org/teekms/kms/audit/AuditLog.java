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
import java.util.List;
import org.hibernate.reactive.mutiny.Mutiny;
import org.teekms.crypto.Bytes;
import org.teekms.kms.db.StateSessions;

/**
 * The append-only, hash-chained audit log in PostgreSQL (docs/audit-log.md). Appends are explicit
 * SQL (never an entity): the head row lock, the hash chain and the head update are the point of
 * this class and stay visible.
 *
 * <p>{@link #append(SqlConnection, AuditDraft)} and {@link #append(Mutiny.Session, AuditDraft)} run
 * inside the caller's transaction (SQL client or Hibernate Reactive), so an entry commits or rolls
 * back together with the state change it records; both lock the chain head row, which serializes
 * appends across threads and replicas for the (short) rest of that transaction. {@link #commit} and
 * {@link #appendAlone} write in transactions of their own, group-committed ({@link
 * AuditGroupCommit}) in Hibernate Reactive sessions, with the entity the entry records (a grant).
 */
public final class AuditLog {

  static final int VERIFY_PAGE = 1000;

  private static final String INSERT_COLUMNS =
      "INSERT INTO audit_log (seq, event_id, event_time, kind, app_id, outcome, "
          + "reason, detail_json, prev_hash, entry_hash) VALUES ";
  private static final int COLUMNS = 10;

  private final Pool pool;
  private final Clock clock;
  private final AuditGroupCommit groupCommit;

  public AuditLog(Pool pool, StateSessions sessions, Clock clock) {
    this.pool = pool;
    this.clock = clock;
    this.groupCommit = new AuditGroupCommit(sessions, this);
  }

  /**
   * What is written in the same transaction as an audit entry, once its sequence number is known
   * (the grant row that points at it): typically {@code session.persist(...)}. The group commit
   * flushes the session after every follow-up.
   */
  @FunctionalInterface
  public interface FollowUp {
    Uni<Void> write(Mutiny.Session session, AuditEntry entry);
  }

  /** One entry to append and its follow-up (null for none). */
  record Append(AuditDraft draft, FollowUp followUp) {}

  /**
   * Appends one entry in the SQL-client transaction {@code tx} belongs to. Fails (and so fails the
   * transaction) on any error.
   */
  public Uni<AuditEntry> append(SqlConnection tx, AuditDraft draft) {
    return tx.query("SELECT seq, entry_hash FROM audit_head FOR UPDATE")
        .execute()
        .onItem()
        .transformToUni(
            rows -> {
              if (rows.size() != 1) {
                return Uni.createFrom().failure(headRows(rows.size()));
              }
              Row head = rows.iterator().next();
              AuditEntry entry =
                  link(head.getLong("seq"), head.getBuffer("entry_hash").getBytes(), List.of(draft))
                      .get(0);
              return tx.preparedQuery(INSERT_COLUMNS + placeholders(1, "$"))
                  .execute(row(entry))
                  .chain(
                      () ->
                          tx.preparedQuery("UPDATE audit_head SET seq = $1, entry_hash = $2")
                              .execute(
                                  Tuple.tuple()
                                      .addLong(entry.seq())
                                      .addBuffer(Buffer.buffer(entry.entryHash().toByteArray()))))
                  .replaceWith(entry);
            });
  }

  /**
   * Appends one entry in the Hibernate Reactive transaction {@code session} is in (native SQL, same
   * connection and transaction as the session's entities). Fails (and so fails the transaction) on
   * any error.
   */
  public Uni<AuditEntry> append(Mutiny.Session session, AuditDraft draft) {
    return appendAll(session, List.of(new Append(draft, null))).map(entries -> entries.get(0));
  }

  /**
   * Appends one entry, and its follow-up if not null, committed when the Uni completes:
   * group-committed with the entries other threads append meanwhile (see {@link AuditGroupCommit}).
   */
  public Uni<AuditEntry> commit(AuditDraft draft, FollowUp followUp) {
    return groupCommit.submit(draft, followUp);
  }

  /**
   * Appends one entry that has no other row with it (denials, operator requests); committed when
   * the Uni completes.
   */
  public Uni<AuditEntry> appendAlone(AuditDraft draft) {
    return commit(draft, null);
  }

  /**
   * Appends {@code appends} in order in the transaction {@code session} is in, in this order: lock
   * the head; insert every entry (one multi-row statement); write every follow-up and flush them
   * (each grant row references its entry's seq, so entries go first); move the head.
   */
  Uni<List<AuditEntry>> appendAll(Mutiny.Session session, List<Append> appends) {
    return session
        .createNativeQuery("SELECT seq, entry_hash FROM audit_head FOR UPDATE", Object[].class)
        .getResultList()
        .chain(
            rows -> {
              if (rows.size() != 1) {
                return Uni.createFrom().failure(headRows(rows.size()));
              }
              Object[] head = rows.get(0);
              List<AuditEntry> entries =
                  link(
                      ((Number) head[0]).longValue(),
                      (byte[]) head[1],
                      appends.stream().map(Append::draft).toList());
              Mutiny.MutationQuery insert =
                  session.createNativeQuery(INSERT_COLUMNS + placeholders(entries.size(), "?"));
              int p = 1;
              for (AuditEntry e : entries) {
                for (Object value : values(e)) {
                  insert.setParameter(p++, value);
                }
              }
              Uni<?> written = insert.executeUpdate();
              boolean followUps = false;
              for (int i = 0; i < appends.size(); i++) {
                FollowUp f = appends.get(i).followUp();
                if (f != null) {
                  AuditEntry entry = entries.get(i);
                  written = written.chain(() -> f.write(session, entry));
                  followUps = true;
                }
              }
              if (followUps) {
                written = written.chain(session::flush);
              }
              AuditEntry last = entries.get(entries.size() - 1);
              return written
                  .chain(
                      () ->
                          session
                              .createNativeQuery("UPDATE audit_head SET seq = ?1, entry_hash = ?2")
                              .setParameter(1, last.seq())
                              .setParameter(2, last.entryHash().toByteArray())
                              .executeUpdate())
                  .replaceWith(entries);
            });
  }

  /**
   * Hash-chains {@code drafts} after the head ({@code seq}, {@code prev}), all stamped with the
   * same time.
   */
  private List<AuditEntry> link(long seq, byte[] prev, List<AuditDraft> drafts) {
    long now = clock.millis();
    List<AuditEntry> entries = new ArrayList<>(drafts.size());
    for (AuditDraft draft : drafts) {
      seq++;
      Bytes appId = draft.appIdBytes();
      byte[] hash =
          AuditEntryHasher.hash(
              seq,
              draft.eventId(),
              now,
              draft.kind(),
              appId.toByteArray(),
              draft.outcome().name(),
              draft.reason(),
              draft.detailJson(),
              prev);
      entries.add(
          new AuditEntry(
              seq,
              draft.eventId(),
              now,
              draft.kind(),
              appId,
              draft.outcome(),
              draft.reason(),
              draft.detailJson(),
              Bytes.copyOf(prev),
              Bytes.copyOf(hash)));
      prev = hash;
    }
    return entries;
  }

  private static IllegalStateException headRows(int n) {
    return new IllegalStateException("audit_head must hold exactly one row, found " + n);
  }

  /**
   * {@code (p1, ..., p10), (p11, ...)} for {@code rows} rows, with {@code $n} or {@code ?n}
   * parameters.
   */
  private static String placeholders(int rows, String marker) {
    StringBuilder sql = new StringBuilder();
    for (int r = 0; r < rows; r++) {
      sql.append(r == 0 ? "(" : ", (");
      for (int c = 1; c <= COLUMNS; c++) {
        sql.append(c == 1 ? "" : ", ").append(marker).append(r * COLUMNS + c);
      }
      sql.append(')');
    }
    return sql.toString();
  }

  /** An entry's column values, in {@link #INSERT_COLUMNS} order. */
  private static Object[] values(AuditEntry e) {
    return new Object[] {
      e.seq(),
      e.eventId(),
      e.eventTimeMillis(),
      e.kind(),
      e.appId().toByteArray(),
      e.outcome().name(),
      e.reason(),
      e.detailJson(),
      e.prevHash().toByteArray(),
      e.entryHash().toByteArray()
    };
  }

  private static Tuple row(AuditEntry e) {
    return Tuple.tuple()
        .addLong(e.seq())
        .addUUID(e.eventId())
        .addLong(e.eventTimeMillis())
        .addString(e.kind())
        .addBuffer(Buffer.buffer(e.appId().toByteArray()))
        .addString(e.outcome().name())
        .addString(e.reason())
        .addString(e.detailJson())
        .addBuffer(Buffer.buffer(e.prevHash().toByteArray()))
        .addBuffer(Buffer.buffer(e.entryHash().toByteArray()));
  }

  /**
   * Entries with {@code seq > afterSeq}, oldest first, optionally for one app and a time range
   * [from, to).
   *
   * @param appId null for every app
   * @param toMillis exclusive; {@code Long.MAX_VALUE} for no upper bound
   */
  public Uni<List<AuditEntry>> list(
      byte[] appId, long fromMillis, long toMillis, long afterSeq, int limit) {
    if (limit < 1 || limit > 1000) {
      throw new IllegalArgumentException("limit must be 1..1000, got " + limit);
    }
    String sql =
        "SELECT * FROM audit_log WHERE seq > $1 AND event_time >= $2 AND event_time < $3"
            + (appId == null ? "" : " AND app_id = $5")
            + " ORDER BY seq LIMIT $4";
    Tuple args = Tuple.of(afterSeq, fromMillis, toMillis, limit);
    if (appId != null) {
      args.addBuffer(Buffer.buffer(appId));
    }
    return pool.preparedQuery(sql)
        .execute(args)
        .map(
            rows -> {
              List<AuditEntry> out = new ArrayList<>(rows.size());
              rows.forEach(r -> out.add(read(r)));
              return out;
            });
  }

  /** Entries by event id (= grant id for grants). */
  public Uni<AuditEntry> byEventId(java.util.UUID eventId) {
    return pool.preparedQuery("SELECT * FROM audit_log WHERE event_id = $1")
        .execute(Tuple.of(eventId))
        .map(rows -> rows.size() == 0 ? null : read(rows.iterator().next()));
  }

  /**
   * Recomputes the whole chain from the genesis hash, page by page, and compares it with the head
   * row. Detects an edited entry (hash mismatch), a deleted one (sequence gap or head mismatch),
   * reordered ones (prev_hash mismatch) and a truncated tail (head mismatch).
   */
  public Uni<ChainVerification> verify() {
    // One snapshot for the whole walk, so appends running meanwhile cannot look like a head
    // mismatch.
    return pool.withTransaction(
        tx ->
            tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute()
                .chain(() -> verifyFrom(tx, 0, AuditEntryHasher.genesisHash(), 0)));
  }

  /**
   * Verifies only what was appended after a verified checkpoint (entry {@code seq} with hash {@code
   * entryHash}, from an earlier valid verification): the checkpoint entry must still be there with
   * that hash and content, then the chain is recomputed from it to the head as {@link #verify()}
   * does. Entries before the checkpoint are not read again (only a full {@link #verify()} detects a
   * later edit there). {@code entriesChecked} counts the whole chain up to the head.
   */
  public Uni<ChainVerification> verifyAfter(long seq, byte[] entryHash) {
    if (seq == 0) {
      return verify();
    }
    return pool.withTransaction(
        tx ->
            tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute()
                .chain(
                    () ->
                        tx.preparedQuery("SELECT * FROM audit_log WHERE seq = $1")
                            .execute(Tuple.of(seq)))
                .chain(
                    rows -> {
                      AuditEntry e;
                      try {
                        e = rows.size() == 1 ? read(rows.iterator().next()) : null;
                      } catch (RuntimeException bad) {
                        e = null;
                      }
                      if (e == null
                          || !MessageDigest.isEqual(e.entryHash().toByteArray(), entryHash)
                          || !MessageDigest.isEqual(AuditEntryHasher.hash(e), entryHash)) {
                        return Uni.createFrom()
                            .item(
                                ChainVerification.broken(
                                    seq - 1,
                                    entryHash,
                                    seq,
                                    "the entry verified "
                                        + "earlier at seq "
                                        + seq
                                        + " is missing or changed since (entry deleted or edited?)"));
                      }
                      return verifyFrom(tx, seq, entryHash, seq);
                    }));
  }

  private Uni<ChainVerification> verifyFrom(
      SqlClient client, long afterSeq, byte[] running, long checked) {
    return client
        .preparedQuery("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
        .execute(Tuple.of(afterSeq, VERIFY_PAGE))
        .onItem()
        .transformToUni(
            rows -> {
              long expected = afterSeq + 1;
              byte[] prev = running;
              long count = checked;
              for (Row row : rows) {
                AuditEntry e;
                try {
                  e = read(row);
                } catch (RuntimeException bad) {
                  return Uni.createFrom()
                      .item(
                          ChainVerification.broken(
                              count,
                              prev,
                              row.getLong("seq"),
                              "unreadable entry: " + bad.getMessage()));
                }
                if (e.seq() != expected) {
                  return Uni.createFrom()
                      .item(
                          ChainVerification.broken(
                              count,
                              prev,
                              expected,
                              "sequence gap: expected seq "
                                  + expected
                                  + ", found "
                                  + e.seq()
                                  + " (entry deleted?)"));
                }
                if (!MessageDigest.isEqual(e.prevHash().toByteArray(), prev)) {
                  return Uni.createFrom()
                      .item(
                          ChainVerification.broken(
                              count,
                              prev,
                              e.seq(),
                              "prev_hash does not match the previous entry's hash (entries reordered or replaced?)"));
                }
                if (!MessageDigest.isEqual(AuditEntryHasher.hash(e), e.entryHash().toByteArray())) {
                  return Uni.createFrom()
                      .item(
                          ChainVerification.broken(
                              count,
                              prev,
                              e.seq(),
                              "entry_hash does not match the entry's content (entry edited?)"));
                }
                prev = e.entryHash().toByteArray();
                expected++;
                count++;
              }
              if (rows.size() == VERIFY_PAGE) {
                return verifyFrom(client, expected - 1, prev, count);
              }
              byte[] last = prev;
              long total = count;
              return client
                  .query("SELECT seq, entry_hash FROM audit_head")
                  .execute()
                  .map(
                      head -> {
                        if (head.size() != 1) {
                          return ChainVerification.broken(
                              total, last, total + 1, "audit_head must hold exactly one row");
                        }
                        Row h = head.iterator().next();
                        if (h.getLong("seq") != total
                            || !MessageDigest.isEqual(h.getBuffer("entry_hash").getBytes(), last)) {
                          return ChainVerification.broken(
                              total,
                              last,
                              total + 1,
                              "chain ends at seq "
                                  + total
                                  + " but the head records seq "
                                  + h.getLong("seq")
                                  + " (tail deleted or head rewritten?)");
                        }
                        return ChainVerification.ok(total, last);
                      });
            });
  }

  /** Maps an {@code audit_log} row. */
  public static AuditEntry read(Row r) {
    return new AuditEntry(
        r.getLong("seq"),
        r.getUUID("event_id"),
        r.getLong("event_time"),
        r.getString("kind"),
        Bytes.copyOf(r.getBuffer("app_id").getBytes()),
        AuditDraft.Outcome.valueOf(r.getString("outcome")),
        r.getString("reason"),
        r.getString("detail_json"),
        Bytes.copyOf(r.getBuffer("prev_hash").getBytes()),
        Bytes.copyOf(r.getBuffer("entry_hash").getBytes()));
  }
}
