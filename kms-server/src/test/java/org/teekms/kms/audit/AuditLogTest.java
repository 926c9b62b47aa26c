package org.teekms.kms.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.grant.Grant;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.grant.PolicyBlockRef;

class AuditLogTest {

  private static TestPostgres postgres;
  private Pool pool;
  private AuditLog audit;
  private GrantLedger ledger;

  @BeforeAll
  static void startPostgres() {
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stopPostgres() {
    postgres.close();
  }

  @BeforeEach
  void freshDatabase() {
    pool = postgres.pool(postgres.freshDatabase(), 8);
    audit = new AuditLog(pool, postgres.sessions(pool), Clock.systemUTC());
    ledger = new GrantLedger(audit);
  }

  @AfterEach
  void closePool() {
    pool.closeAndAwait();
  }

  @Test
  void emptyChainVerifies() {
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(0, v.entriesChecked());
    assertArrayEquals(new byte[32], v.headHash().toByteArray());
  }

  @Test
  void entriesChainAndVerify() {
    List<AuditEntry> written = appendSome(5);
    assertEquals(Bytes.copyOf(new byte[32]), written.get(0).prevHash());
    for (int i = 1; i < written.size(); i++) {
      assertEquals(written.get(i - 1).entryHash(), written.get(i).prevHash());
      assertEquals(i + 1, written.get(i).seq());
    }
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(5, v.entriesChecked());
    assertEquals(written.get(4).entryHash(), v.headHash());
    // What was read back is what was written.
    assertEquals(
        written, audit.list(null, 0, Long.MAX_VALUE, 0, 100).await().atMost(TestPostgres.WAIT));
  }

  @Test
  void chainSpanningSeveralVerificationPages() {
    int n = AuditLog.VERIFY_PAGE * 2 + 3;
    for (int batch = 0; batch < n; batch += 100) {
      int size = Math.min(100, n - batch);
      postgres
          .sessions(pool)
          .inTransaction(
              tx ->
                  Multi.createFrom()
                      .range(0, size)
                      .onItem()
                      .transformToUniAndConcatenate(
                          i ->
                              audit.append(
                                  tx, AuditDraft.allowed("ROTATION", AppId.of(app(1)), "{}")))
                      .collect()
                      .last())
          .await()
          .atMost(TestPostgres.WAIT);
    }
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(n, v.entriesChecked());
  }

  @Test
  void databaseRefusesUpdateAndDelete() {
    appendSome(2);
    assertThrows(
        Exception.class,
        () ->
            pool.query("UPDATE audit_log SET reason = 'x' WHERE seq = 1")
                .execute()
                .await()
                .atMost(TestPostgres.WAIT));
    assertThrows(
        Exception.class,
        () ->
            pool.query("DELETE FROM audit_log WHERE seq = 1")
                .execute()
                .await()
                .atMost(TestPostgres.WAIT));
    assertTrue(audit.verify().await().atMost(TestPostgres.WAIT).valid());
  }

  @Test
  void editedRowIsDetected() {
    appendSome(4);
    tamper("UPDATE audit_log SET detail_json = '{\"who\":\"someone else\"}' WHERE seq = 3");
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertFalse(v.valid());
    assertEquals(3, v.firstBadSeq());
    assertTrue(v.problem().contains("entry_hash"), v.problem());
  }

  @Test
  void editedRowWithRecomputedHashIsDetectedAtTheNextEntry() {
    List<AuditEntry> w = appendSome(4);
    AuditEntry e = w.get(1);
    byte[] forged =
        AuditEntryHasher.hash(
            e.seq(),
            e.eventId(),
            e.eventTimeMillis(),
            e.kind(),
            e.appId().toByteArray(),
            "DENIED",
            "POLICY_DENIED",
            e.detailJson(),
            e.prevHash().toByteArray());
    tamper(
        "UPDATE audit_log SET outcome = 'DENIED', reason = 'POLICY_DENIED', entry_hash = '\\x"
            + HexFormat.of().formatHex(forged)
            + "' WHERE seq = 2");
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertFalse(v.valid());
    assertEquals(3, v.firstBadSeq());
    assertTrue(v.problem().contains("prev_hash"), v.problem());
  }

  @Test
  void deletedRowIsDetected() {
    appendSome(4);
    tamper("DELETE FROM audit_log WHERE seq = 2");
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertFalse(v.valid());
    assertEquals(2, v.firstBadSeq());
    assertTrue(v.problem().contains("sequence gap"), v.problem());
  }

  @Test
  void deletedTailIsDetected() {
    appendSome(4);
    tamper("DELETE FROM audit_log WHERE seq = 4");
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertFalse(v.valid());
    assertTrue(v.problem().contains("head records seq 4"), v.problem());
  }

  @Test
  void reorderedRowsAreDetected() {
    appendSome(4);
    // Swap the contents of entries 2 and 3, keeping the sequence numbers in place.
    tamper("UPDATE audit_log SET seq = seq + 1000 WHERE seq IN (2, 3)");
    tamper(
        "UPDATE audit_log SET seq = CASE seq WHEN 1002 THEN 3 ELSE 2 END WHERE seq IN (1002, 1003)");
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertFalse(v.valid());
    assertEquals(2, v.firstBadSeq());
  }

  @Test
  void repeatedChainVerificationWalksOnlyWhatWasAppendedSinceTheLastVerifiedCheckpoint() {
    org.teekms.kms.MutableClock clock = new org.teekms.kms.MutableClock(1_000_000);
    AuditChainVerifier verifier =
        new AuditChainVerifier(audit, clock, java.time.Duration.ofHours(1));
    appendSome(50);
    ChainVerification first = verifier.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(first.valid(), first.problem());
    assertEquals(50, first.entriesChecked());
    assertEquals(50, verifier.lastWalked(), "the first verification walks the whole chain");
    for (int call = 0; call < 20; call++) {
      ChainVerification again = verifier.verify().await().atMost(TestPostgres.WAIT);
      assertEquals(first, again);
      assertEquals(0, verifier.lastWalked(), "an unchanged chain is not walked again");
    }
    List<AuditEntry> more = appendSome(3);
    ChainVerification next = verifier.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(next.valid(), next.problem());
    assertEquals(53, next.entriesChecked());
    assertEquals(more.get(2).entryHash(), next.headHash());
    assertEquals(3, verifier.lastWalked());
    // Tampering after the checkpoint, or with the checkpoint entry itself, is found by the
    // incremental walk.
    tamper("UPDATE audit_log SET detail_json = '{\"who\":\"someone else\"}' WHERE seq = 53");
    ChainVerification edited = verifier.verify().await().atMost(TestPostgres.WAIT);
    assertFalse(edited.valid());
    assertEquals(53, edited.firstBadSeq());
  }

  @Test
  void anEditBeforeTheCheckpointIsFoundByTheNextFullWalk() {
    org.teekms.kms.MutableClock clock = new org.teekms.kms.MutableClock(1_000_000);
    AuditChainVerifier verifier =
        new AuditChainVerifier(audit, clock, java.time.Duration.ofHours(1));
    appendSome(10);
    assertTrue(verifier.verify().await().atMost(TestPostgres.WAIT).valid());
    tamper("UPDATE audit_log SET detail_json = '{\"who\":\"someone else\"}' WHERE seq = 3");
    appendSome(1);
    // Within the full-walk interval the old prefix is not re-read (the documented bound on per-call
    // work) ...
    assertTrue(verifier.verify().await().atMost(TestPostgres.WAIT).valid());
    assertEquals(1, verifier.lastWalked());
    // ... and the next full walk finds the edit, and every call walks in full while the chain is
    // broken.
    clock.advance(java.time.Duration.ofHours(1));
    for (int call = 0; call < 2; call++) {
      ChainVerification v = verifier.verify().await().atMost(TestPostgres.WAIT);
      assertFalse(v.valid());
      assertEquals(3, v.firstBadSeq());
      assertTrue(v.problem().contains("entry_hash"), v.problem());
    }
  }

  @Test
  void concurrentCallsShareOneWalk() {
    org.teekms.kms.MutableClock clock = new org.teekms.kms.MutableClock(1_000_000);
    AuditChainVerifier verifier =
        new AuditChainVerifier(audit, clock, java.time.Duration.ofHours(1));
    appendSome(5);
    Uni<ChainVerification> a = verifier.verify();
    Uni<ChainVerification> b = verifier.verify();
    org.junit.jupiter.api.Assertions.assertSame(a, b, "a call made while a walk runs joins it");
    assertEquals(a.await().atMost(TestPostgres.WAIT), b.await().atMost(TestPostgres.WAIT));
  }

  @Test
  void grantAndAuditCommitTogether() {
    Grant grant = grant(app(7));
    AuditEntry entry = ledger.recordGrant(grant).await().atMost(TestPostgres.WAIT);
    assertEquals(grant.grantId(), entry.eventId());
    assertEquals("GRANT_APP_KEYS", entry.kind());
    long grants =
        pool.query("SELECT count(*) FROM key_grant WHERE audit_seq = " + entry.seq())
            .execute()
            .await()
            .atMost(TestPostgres.WAIT)
            .iterator()
            .next()
            .getLong(0);
    assertEquals(1, grants);
    assertTrue(entry.detailJson().contains("\"policyBlock\":42"), entry.detailJson());
  }

  @Test
  void auditFailureRefusesTheGrant() {
    // Break the audit write (what a full disk or a lost head row would do): the grant must not
    // exist afterwards.
    tamper("DELETE FROM audit_head");
    Grant grant = grant(app(8));
    assertThrows(
        Exception.class, () -> ledger.recordGrant(grant).await().atMost(TestPostgres.WAIT));
    long grants =
        pool.query("SELECT count(*) FROM key_grant")
            .execute()
            .await()
            .atMost(TestPostgres.WAIT)
            .iterator()
            .next()
            .getLong(0);
    assertEquals(0, grants);
  }

  @Test
  void grantFailureLeavesNoAuditEntry() {
    Grant grant = grant(app(9));
    ledger.recordGrant(grant).await().atMost(TestPostgres.WAIT);
    // Same grant id again: the grant insert fails after the audit append, and both roll back.
    assertThrows(
        Exception.class, () -> ledger.recordGrant(grant).await().atMost(TestPostgres.WAIT));
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(1, v.entriesChecked());
  }

  @Test
  void concurrentAppendsStayChained() {
    AtomicInteger n = new AtomicInteger();
    List<Uni<AuditEntry>> all = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      all.add(
          ledger.recordDenial(
              "DENY",
              AppId.of(app(n.incrementAndGet() % 5)),
              "POLICY_DENIED",
              Map.of("i", n.get())));
    }
    Uni.join().all(all).andFailFast().await().atMost(TestPostgres.WAIT);
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(64, v.entriesChecked());
  }

  @Test
  void concurrentGrantsAreGroupCommittedAndEachGrantRowPointsAtItsEntry() {
    List<Grant> grants = new ArrayList<>();
    List<Uni<AuditEntry>> all = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      Grant g = grant(app(i % 7));
      grants.add(g);
      all.add(ledger.recordGrant(g));
    }
    List<AuditEntry> entries = Uni.join().all(all).andFailFast().await().atMost(TestPostgres.WAIT);
    for (int i = 0; i < grants.size(); i++) {
      assertEquals(grants.get(i).grantId(), entries.get(i).eventId());
      long seq =
          pool.query(
                  "SELECT audit_seq FROM key_grant WHERE grant_id = '"
                      + grants.get(i).grantId()
                      + "'")
              .execute()
              .await()
              .atMost(TestPostgres.WAIT)
              .iterator()
              .next()
              .getLong(0);
      assertEquals(
          entries.get(i).seq(), seq, "the grant row records the seq of its own audit entry");
    }
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(200, v.entriesChecked());
    long transactionsAtMost =
        pool.query("SELECT count(DISTINCT xmin::text) FROM audit_log")
            .execute()
            .await()
            .atMost(TestPostgres.WAIT)
            .iterator()
            .next()
            .getLong(0);
    assertTrue(
        transactionsAtMost < 200,
        "200 concurrent grants were written by fewer transactions: " + transactionsAtMost);
  }

  @Test
  void aBadGrantInABatchIsRefusedAloneAndTheOthersCommit() {
    Grant duplicate = grant(app(3));
    ledger.recordGrant(duplicate).await().atMost(TestPostgres.WAIT);
    List<Uni<AuditEntry>> good = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      good.add(ledger.recordGrant(grant(app(4))));
    }
    Uni<AuditEntry> bad =
        ledger.recordGrant(duplicate); // same grant id: its grant row cannot be inserted
    for (int i = 0; i < 20; i++) {
      good.add(ledger.recordDenial("DENY", AppId.of(app(5)), "POLICY_DENIED", Map.of("i", i)));
    }
    Uni<List<AuditEntry>> goodOnes = Uni.join().all(good).andFailFast();
    assertThrows(Exception.class, () -> bad.await().atMost(TestPostgres.WAIT));
    assertEquals(40, goodOnes.await().atMost(TestPostgres.WAIT).size());
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(
        41, v.entriesChecked(), "the refused grant left no audit entry, the 40 others did");
  }

  @Test
  void theDatabaseAppendChainsTheDocumentedVectors() {
    // audit_append (db/migration V6) hashes inside PostgreSQL: it must give docs/audit-log.md's
    // vectors exactly, the same as AuditEntryHasher and the verifiers.
    String entry1 =
        AuditLog.entriesJson(
            List.of(
                new AuditDraft(
                    UUID.fromString("00000000-0000-4000-8000-000000000001"),
                    "GRANT_APP_KEYS",
                    java.util.Optional.of(
                        AppId.fromHex("00000000000000000000000000000000000000aa")),
                    AuditDraft.Outcome.ALLOWED,
                    "",
                    "{\"instanceId\":\"0102\",\"keyVersions\":[1],\"policyBlock\":42}")));
    String entry2 =
        AuditLog.entriesJson(
            List.of(
                new AuditDraft(
                    UUID.fromString("00000000-0000-4000-8000-000000000002"),
                    "DENY_APP_KEYS",
                    java.util.Optional.of(
                        AppId.fromHex("00000000000000000000000000000000000000aa")),
                    AuditDraft.Outcome.DENIED,
                    "COMPOSE_HASH_NOT_ALLOWED",
                    "{\"composeHash\":\"ff\"}")));
    assertEquals(
        "757f1eda0c77b83c321c5e102e7ba03a50e77b4b71fce22817ddf9d0d157b868",
        databaseAppend(1767225600000L, entry1));
    assertEquals(
        "bb721dafca01015ce73e63bc417e6e72da26216bb4e682cc123eca8232284778",
        databaseAppend(1767225601000L, entry2));
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(2, v.entriesChecked());
  }

  @Test
  void detailTextIsStoredAndHashedByteForByteThroughTheDatabaseAppend() {
    // The drafts travel to audit_append as JSON: escapes, quotes, non-ASCII and astral characters
    // must come out as the very text the KMS hashed (else the KMS's check refuses the append).
    String detail = "{\"a\":\"quote \\\" backslash \\\\ tab \\t real tab \t é 𝄞 \\u0001\"}";
    AuditEntry e =
        audit
            .appendAlone(AuditDraft.denied("DENY_APP_KEYS", AppId.of(app(3)), "REASON_X", detail))
            .await()
            .atMost(TestPostgres.WAIT);
    AuditEntry stored = audit.byEventId(e.eventId()).await().atMost(TestPostgres.WAIT);
    assertEquals(detail, stored.detailJson());
    assertArrayEquals(AuditEntryHasher.hash(stored), stored.entryHash().toByteArray());
    assertEquals(e.entryHash(), stored.entryHash());
  }

  @Test
  void anAppendFunctionThatHashesOtherwiseIsRefusedAndNothingIsCommitted() {
    // An attacker who owns the database replaces audit_append with one that leaves the detail out
    // of the hash (so details could later be edited unnoticed by a verifier that trusted the
    // database): the KMS recomputes every hash, refuses the append, and the grant is not
    // released.
    ledger.recordGrant(grant(app(10))).await().atMost(TestPostgres.WAIT);
    pool.query(
            "CREATE OR REPLACE FUNCTION audit_append(p_event_time bigint, p_entries text)"
                + " RETURNS TABLE (out_seq bigint, out_prev_hash bytea, out_entry_hash bytea)"
                + " LANGUAGE plpgsql AS $$ DECLARE e json; s bigint; h bytea; BEGIN"
                + " SELECT seq, entry_hash INTO s, h FROM audit_head FOR UPDATE;"
                + " FOR e IN SELECT value FROM json_array_elements(p_entries::json) LOOP"
                + " out_seq := s + 1; out_prev_hash := h;"
                + " out_entry_hash := sha256(int8send(out_seq) || h);"
                + " INSERT INTO audit_log VALUES (out_seq, (e->>'eventId')::uuid, p_event_time,"
                + " e->>'kind', decode(e->>'appId', 'hex'), e->>'outcome', e->>'reason',"
                + " e->>'detailJson', out_prev_hash, out_entry_hash);"
                + " s := out_seq; h := out_entry_hash; RETURN NEXT; END LOOP;"
                + " UPDATE audit_head SET seq = s, entry_hash = h; END; $$")
        .execute()
        .await()
        .atMost(TestPostgres.WAIT);
    Exception refused =
        assertThrows(
            Exception.class,
            () -> ledger.recordGrant(grant(app(11))).await().atMost(TestPostgres.WAIT));
    StringBuilder why = new StringBuilder();
    for (Throwable t = refused; t != null; t = t.getCause()) {
      why.append(t.getMessage()).append(" / ");
    }
    assertTrue(why.toString().contains("computed another entry_hash"), why.toString());
    long grants =
        pool.query("SELECT count(*) FROM key_grant")
            .execute()
            .await()
            .atMost(TestPostgres.WAIT)
            .iterator()
            .next()
            .getLong(0);
    assertEquals(1, grants);
    ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
    assertTrue(v.valid(), v.problem());
    assertEquals(1, v.entriesChecked());
  }

  /** Calls audit_append directly, in a transaction of its own; the (single) entry hash in hex. */
  private String databaseAppend(long eventTime, String entriesJson) {
    return HexFormat.of()
        .formatHex(
            pool.withTransaction(
                    tx ->
                        tx.preparedQuery("SELECT out_entry_hash FROM audit_append($1, $2)")
                            .execute(io.vertx.mutiny.sqlclient.Tuple.of(eventTime, entriesJson)))
                .await()
                .atMost(TestPostgres.WAIT)
                .iterator()
                .next()
                .getBuffer(0)
                .getBytes());
  }

  @Test
  void listFiltersByAppAndTime() {
    appendSome(3);
    ledger
        .recordDenial("DENY", AppId.of(app(2)), "COMPOSE_HASH_NOT_ALLOWED", Map.of())
        .await()
        .atMost(TestPostgres.WAIT);
    List<AuditEntry> forApp2 =
        audit.list(AppId.of(app(2)), 0, Long.MAX_VALUE, 0, 100).await().atMost(TestPostgres.WAIT);
    assertEquals(1, forApp2.size());
    assertEquals("COMPOSE_HASH_NOT_ALLOWED", forApp2.get(0).reason());
    assertEquals(0, audit.list(null, 0, 1, 0, 100).await().atMost(TestPostgres.WAIT).size());
    assertEquals(
        2, audit.list(null, 0, Long.MAX_VALUE, 2, 100).await().atMost(TestPostgres.WAIT).size());
  }

  private List<AuditEntry> appendSome(int n) {
    List<AuditEntry> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(
          audit
              .appendAlone(
                  AuditDraft.allowed(
                      "ROTATION", AppId.of(app(1)), AuditDetail.json(Map.of("step", i))))
              .await()
              .atMost(TestPostgres.WAIT));
    }
    return out;
  }

  /**
   * What an attacker with database superuser rights can do: switch the append-only triggers off and
   * edit.
   */
  private void tamper(String sql) {
    pool.withTransaction(
            tx ->
                tx.query("ALTER TABLE audit_log DISABLE TRIGGER USER")
                    .execute()
                    .chain(() -> tx.query(sql).execute())
                    .chain(() -> tx.query("ALTER TABLE audit_log ENABLE TRIGGER USER").execute()))
        .await()
        .atMost(TestPostgres.WAIT);
  }

  private static Grant grant(byte[] app) {
    return new Grant(
        UUID.randomUUID(),
        Grant.Kind.APP_KEYS,
        Optional.of(AppId.of(app)),
        Bytes.copyOf(new byte[] {1, 2, 3}),
        List.of(1, 2),
        1,
        new PolicyBlockRef(31337, 42, new byte[32]),
        Map.of());
  }

  static byte[] app(int n) {
    byte[] a = new byte[20];
    a[19] = (byte) n;
    return a;
  }
}
