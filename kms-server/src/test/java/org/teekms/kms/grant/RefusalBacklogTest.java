package org.teekms.kms.grant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.mutiny.sqlclient.Pool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.audit.ChainVerification;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.db.EmbeddedPostgresServer;
import org.teekms.kms.db.SchemaMigrator;

/**
 * Refusals while PostgreSQL is down (docs/audit-log.md): a real embedded PostgreSQL is stopped,
 * refusals are made, it is started again on the same data directory and port, and the refusals kept
 * in memory are appended in order, hash-chained, marked late; those over the backlog's capacity are
 * counted as dropped.
 */
class RefusalBacklogTest {

  @Test
  void refusalsMadeWhilePostgresIsStoppedAreAppendedInOrderWhenItReturnsAndOverflowIsCounted(
      @TempDir Path dir) throws Exception {
    Path pgdata = dir.resolve("pgdata");
    Files.createDirectories(pgdata);
    EmbeddedPostgresServer server = EmbeddedPostgresServer.start(pgdata, 0);
    DatabaseCoordinates db = server.coordinates();
    SchemaMigrator.migrate(db);
    // TestPostgres runs a server of its own; only its pool and Hibernate Reactive bootstrap are
    // borrowed here, against this test's server, which the test stops and starts.
    TestPostgres sessionsOnly = new TestPostgres();
    Pool pool = sessionsOnly.pool(db, 2);
    try {
      AuditLog audit = new AuditLog(pool, sessionsOnly.sessions(pool), Clock.systemUTC());
      int capacity = 5;
      GrantLedger ledger = new GrantLedger(audit, Clock.systemUTC(), capacity);
      byte[] app = new byte[20];
      app[19] = 7;
      ledger
          .recordDenial(
              "DENY_APP_KEYS", org.teekms.keys.AppId.of(app), "COMPOSE_NOT_ALLOWED", Map.of("n", 0))
          .await()
          .atMost(TestPostgres.WAIT);

      server.close();
      int refusals = capacity + 2;
      for (int n = 1; n <= refusals; n++) {
        int i = n;
        assertThrows(
            RuntimeException.class,
            () ->
                ledger
                    .recordDenial(
                        "DENY_APP_KEYS",
                        org.teekms.keys.AppId.of(app),
                        "COMPOSE_NOT_ALLOWED",
                        Map.of("n", i))
                    .await()
                    .atMost(TestPostgres.WAIT),
            "PostgreSQL is down: the entry is not written now");
      }
      assertEquals(capacity, ledger.backlogSize());
      assertEquals(capacity, ledger.backlogQueued());
      assertEquals(2, ledger.backlogDropped(), "the refusals over the capacity are counted");

      server = EmbeddedPostgresServer.start(pgdata, db.port());
      long deadline = System.nanoTime() + 120_000_000_000L;
      while (ledger.backlogSize() > 0 && System.nanoTime() < deadline) {
        ledger.drainBacklog(); // what AuditBacklogScheduler does every few seconds
        Thread.sleep(200);
      }
      assertEquals(0, ledger.backlogSize(), "the backlog was appended once PostgreSQL returned");
      assertEquals(capacity, ledger.backlogAppended());
      // A refusal made now is written at once again.
      ledger
          .recordDenial(
              "DENY_APP_KEYS",
              org.teekms.keys.AppId.of(app),
              "COMPOSE_NOT_ALLOWED",
              Map.of("n", 99))
          .await()
          .atMost(TestPostgres.WAIT);

      List<AuditEntry> log =
          audit.list(null, 0, Long.MAX_VALUE, 0, 100).await().atMost(TestPostgres.WAIT);
      assertEquals(1 + capacity + 1, log.size(), log.toString());
      for (int i = 0; i < log.size(); i++) {
        int n = i <= capacity ? i : 99;
        String detail = log.get(i).detailJson();
        assertTrue(detail.contains("\"n\":" + n), "in the order they were refused: " + detail);
        boolean late = i >= 1 && i <= capacity;
        assertEquals(late, detail.contains("\"auditedLate\":true"), detail);
        assertEquals(late, detail.contains("\"refusedAt\":\""), detail);
      }
      ChainVerification v = audit.verify().await().atMost(TestPostgres.WAIT);
      assertTrue(v.valid(), v.problem());
      assertEquals(log.size(), v.entriesChecked());
    } finally {
      pool.closeAndAwait();
      sessionsOnly.close();
      server.close();
    }
  }
}
