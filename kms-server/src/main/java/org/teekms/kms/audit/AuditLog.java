package org.teekms.kms.audit;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.hibernate.reactive.mutiny.Mutiny;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.kms.db.StateSessions;

/**
 * The append-only, hash-chained audit log in PostgreSQL (docs/audit-log.md). Appends are explicit
 * SQL (never an entity): the head row lock, the hash chain and the head update are the point of
 * this class and stay visible.
 *
 * <p>{@link #append(Mutiny.Session, AuditDraft)} runs inside the caller's Hibernate Reactive
 * transaction (native statements on the session's connection), so an entry commits or rolls back
 * together with the state change it records (a rotation step, a bootstrap, an onboarding import, an
 * operator request); it locks the chain head row, which serializes appends across threads and
 * replicas for the (short) rest of that transaction. {@link #commit} and {@link #appendAlone} write
 * in transactions of their own, group-committed ({@link AuditGroupCommit}) in Hibernate Reactive
 * sessions, with the entity the entry records (a grant).
 *
 * <p>Every append is one statement, {@code audit_append} (db/migration V6): PostgreSQL locks the
 * head, hashes and inserts the entries and moves the head, so the head row is never locked across a
 * round trip to this JVM (docs/audit-log.md, "Replicas and the single head"). The KMS recomputes
 * each returned hash with {@link AuditEntryHasher} and fails the transaction on any difference
 * ({@link #checkLinked}): what PostgreSQL chained is exactly what every verifier recomputes.
 */
public final class AuditLog {

  static final int VERIFY_PAGE = 1000;

  /** One statement: lock the head, chain and insert the entries, move the head (V6). */
  private static final String APPEND_SQL =
      "SELECT out_seq, out_prev_hash, out_entry_hash FROM audit_append(";

  /**
   * The drafts as audit_append's JSON argument (exact strings: Jackson escapes, PostgreSQL
   * unescapes).
   */
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

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
   * Appends {@code appends} in order in the transaction {@code session} is in: one {@code
   * audit_append} statement (head lock, every entry, head move), its hashes checked; then every
   * follow-up, flushed (each grant row references its entry's seq, so entries go first).
   */
  Uni<List<AuditEntry>> appendAll(Mutiny.Session session, List<Append> appends) {
    long now = clock.millis();
    List<AuditDraft> drafts = appends.stream().map(Append::draft).toList();
    String json = entriesJson(drafts);
    return session
        .createNativeQuery(APPEND_SQL + "?1, cast(?2 as text))", Object[].class)
        .setParameter(1, now)
        .setParameter(2, json)
        .getResultList()
        .chain(
            rows -> {
              List<AuditEntry> entries = checkLinked(now, drafts, rows);
              Uni<?> written = Uni.createFrom().voidItem();
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
              return written.replaceWith(entries);
            });
  }

  /** {@code drafts} as audit_append's argument: a JSON array of objects, in order. */
  static String entriesJson(List<AuditDraft> drafts) {
    List<java.util.Map<String, String>> out = new ArrayList<>(drafts.size());
    for (AuditDraft d : drafts) {
      out.add(
          java.util.Map.of(
              "eventId", d.eventId().toString(),
              "kind", d.kind(),
              "appId", java.util.HexFormat.of().formatHex(d.appIdBytes().toByteArray()),
              "outcome", d.outcome().name(),
              "reason", d.reason(),
              "detailJson", d.detailJson()));
    }
    try {
      return JSON.writeValueAsString(out);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("audit draft not serialisable: " + e.getMessage(), e);
    }
  }

  /**
   * The entries PostgreSQL chained for {@code drafts} (rows of seq, prev_hash, entry_hash), after
   * checking them against this KMS's own encoding: one row per draft, consecutive seqs, each
   * prev_hash the entry before's hash, and each entry_hash what {@link AuditEntryHasher} computes.
   * Any difference fails the append, and with it the transaction: nothing is committed that a
   * verifier would find broken.
   */
  static List<AuditEntry> checkLinked(long now, List<AuditDraft> drafts, List<Object[]> rows) {
    if (rows.size() != drafts.size()) {
      throw new IllegalStateException(
          "audit_append returned " + rows.size() + " entries for " + drafts.size() + " drafts");
    }
    List<AuditEntry> entries = new ArrayList<>(drafts.size());
    for (int i = 0; i < drafts.size(); i++) {
      AuditDraft draft = drafts.get(i);
      long seq = ((Number) rows.get(i)[0]).longValue();
      byte[] prev = (byte[]) rows.get(i)[1];
      byte[] hash = (byte[]) rows.get(i)[2];
      Bytes appId = draft.appIdBytes();
      if (i > 0
          && (seq != entries.get(i - 1).seq() + 1
              || !MessageDigest.isEqual(prev, entries.get(i - 1).entryHash().toByteArray()))) {
        throw new IllegalStateException(
            "audit_append broke the chain at seq " + seq + " (not linked to the entry before)");
      }
      AuditEntry entry =
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
              Bytes.copyOf(hash));
      if (!MessageDigest.isEqual(AuditEntryHasher.hash(entry), hash)) {
        throw new IllegalStateException(
            "audit_append computed another entry_hash than the KMS for seq "
                + seq
                + " (database function differs from docs/audit-log.md?)");
      }
      entries.add(entry);
    }
    return entries;
  }

  /**
   * Entries with {@code seq > afterSeq}, oldest first, optionally for one app and a time range
   * [from, to).
   *
   * @param appId null for every app
   * @param toMillis exclusive; {@code Long.MAX_VALUE} for no upper bound
   */
  public Uni<List<AuditEntry>> list(
      AppId appId, long fromMillis, long toMillis, long afterSeq, int limit) {
    if (limit < 1 || limit > 1000) {
      throw new IllegalArgumentException("limit must be 1..1000, got " + limit);
    }
    String sql =
        "SELECT * FROM audit_log WHERE seq > $1 AND event_time >= $2 AND event_time < $3"
            + (appId == null ? "" : " AND app_id = $5")
            + " ORDER BY seq LIMIT $4";
    Tuple args = Tuple.of(afterSeq, fromMillis, toMillis, limit);
    if (appId != null) {
      args.addBuffer(Buffer.buffer(appId.toBytes()));
    }
    return org.teekms.kms.db.PoolQueries.preparedQuery(pool, sql, args)
        .map(
            rows -> {
              List<AuditEntry> out = new ArrayList<>(rows.size());
              rows.forEach(r -> out.add(read(r)));
              return out;
            });
  }

  /** Entries by event id (= grant id for grants). */
  public Uni<AuditEntry> byEventId(java.util.UUID eventId) {
    return org.teekms.kms.db.PoolQueries.preparedQuery(
            pool, "SELECT * FROM audit_log WHERE event_id = $1", Tuple.of(eventId))
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
