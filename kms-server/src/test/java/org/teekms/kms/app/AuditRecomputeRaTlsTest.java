package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.vertx.mutiny.sqlclient.Pool;
import jakarta.inject.Inject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.cli.TeeKmsCli;
import org.teekms.keys.AppId;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;

/**
 * {@code teekms audit verify} recomputes the chain on the auditor's side: against the real server
 * on real PostgreSQL whose {@code audit_log} is edited by hand (append-only triggers switched off,
 * as a database superuser could), an edited, deleted or reordered entry fails the check with its
 * seq, and a history rewritten consistently (hashes and head recomputed, so the KMS's own
 * VerifyAuditChain says valid) fails against a head saved earlier.
 */
@QuarkusTest
@TestProfile(AuditProfile.class)
class AuditRecomputeRaTlsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static SimulatedTdx tdx;

  @Inject Pool pool;
  @Inject AuditLog audit;
  private long first;

  @BeforeAll
  static void platform() {
    tdx =
        SimulatedTdx.enableSeeded(
            "AuditRecomputeRaTlsTest client side",
            Clock.systemUTC(),
            HexFormat.of().parseHex(RaTlsProfile.SEED));
  }

  record Run(int exit, JsonNode json) {}

  static Run cli(String... args) throws Exception {
    Path dir = Files.createTempDirectory("teekms-audit-it");
    String root = Files.writeString(dir.resolve("root.pem"), tdx.rootCertificatePem()).toString();
    String collateral = tdx.collateral().writeTo(dir.resolve("collateral")).toString();
    StringWriter out = new StringWriter();
    picocli.CommandLine c = TeeKmsCli.newCommandLine();
    c.setOut(new PrintWriter(out));
    c.setErr(new PrintWriter(new StringWriter()));
    String[] common = {
      "audit",
      "verify",
      "--kms",
      "127.0.0.1:" + AuditProfile.PORT,
      "--root-ca",
      root,
      "--collateral",
      collateral
    };
    String[] all = Arrays.copyOf(common, common.length + args.length);
    System.arraycopy(args, 0, all, common.length, args.length);
    int exit = c.execute(all);
    return new Run(exit, out.toString().isBlank() ? null : JSON.readTree(out.toString()));
  }

  private void sql(String statement) {
    pool.query(statement).execute().await().atMost(WAIT);
  }

  @Test
  void handEditedDatabaseIsCaughtByTheAuditorsOwnRecomputation() throws Exception {
    byte[] app = new byte[20];
    app[19] = 0x15;
    first = 0;
    for (int i = 0; i < 4; i++) {
      AuditEntry e =
          audit
              .appendAlone(
                  AuditDraft.denied(
                      "DENY_APP_KEYS",
                      AppId.of(app),
                      "DEBUG_TD",
                      "{\"debug\":true,\"n\":" + i + "}"))
              .await()
              .atMost(WAIT);
      first = first == 0 ? e.seq() : first;
    }
    long mid = first + 1;
    Run clean = cli();
    assertEquals(0, clean.exit(), String.valueOf(clean.json()));
    assertTrue(clean.json().get("computedLocally").asBoolean());
    String savedHead = clean.json().get("headHash").asText();
    long savedSeq = clean.json().get("headSeq").asLong();
    assertTrue(savedSeq >= first + 3);

    sql("CREATE TABLE audit_backup AS SELECT * FROM audit_log");
    sql("CREATE TABLE audit_head_backup AS SELECT * FROM audit_head");
    sql("ALTER TABLE audit_log DISABLE TRIGGER USER");
    try {
      // Edited: the reason of one refusal changed in place.
      sql("UPDATE audit_log SET reason = 'COMPOSE_HASH_NOT_ALLOWED' WHERE seq = " + mid);
      assertBroken(cli(), mid, "entry_hash does not match");
      restore();
      assertEquals(0, cli("--since-head", savedHead).exit(), "restored");

      // Deleted: one refusal gone.
      sql("DELETE FROM audit_log WHERE seq = " + mid);
      assertBroken(cli(), mid, "sequence gap");
      restore();

      // Reordered: two entries swap places (sequence numbers swapped too).
      sql("UPDATE audit_log SET seq = 1000000 WHERE seq = " + mid);
      sql("UPDATE audit_log SET seq = " + mid + " WHERE seq = " + (mid + 1));
      sql("UPDATE audit_log SET seq = " + (mid + 1) + " WHERE seq = 1000000");
      assertBroken(cli(), mid, "prev_hash");
      restore();

      // Rewritten consistently from `mid` on, head included: self-consistent, so only a saved head
      // catches it.
      rewriteFrom(mid);
      Run selfConsistent = cli();
      assertEquals(0, selfConsistent.exit(), String.valueOf(selfConsistent.json()));
      // The running KMS remembers the entry it last verified (AuditChainVerifier's checkpoint), so
      // its own word
      // catches this rewrite too; a restarted KMS would not, which is why the auditor keeps a head
      // of its own.
      assertFalse(
          selfConsistent.json().get("kmsSaysValid").asBoolean(),
          "the KMS's checkpoint no longer matches");
      Run rewritten = cli("--since-head", savedHead);
      assertEquals(1, rewritten.exit(), String.valueOf(rewritten.json()));
      assertTrue(
          rewritten.json().get("problem").asText().contains("saved head"),
          rewritten.json().toString());
      restore();

      Run again = cli("--since-head", savedHead);
      assertEquals(0, again.exit(), String.valueOf(again.json()));
      assertEquals(savedSeq, again.json().get("checkpoints").get(0).get("atSeq").asLong());
    } finally {
      restore();
      sql("ALTER TABLE audit_log ENABLE TRIGGER USER");
      sql("DROP TABLE audit_backup");
      sql("DROP TABLE audit_head_backup");
    }
  }

  private static void assertBroken(Run run, long seq, String problem) {
    assertEquals(1, run.exit(), String.valueOf(run.json()));
    assertEquals(seq, run.json().get("firstBadSeq").asLong(), run.json().toString());
    assertTrue(run.json().get("problem").asText().contains(problem), run.json().toString());
    assertEquals("AUDIT_CHAIN_BROKEN", run.json().get("failure").asText());
  }

  /**
   * Puts this test's entries (seq >= first, the only ones tampered with) back as they were written.
   */
  private void restore() {
    sql("DELETE FROM audit_log WHERE seq >= " + first);
    sql("INSERT INTO audit_log SELECT * FROM audit_backup WHERE seq >= " + first);
    sql("UPDATE audit_head SET seq = b.seq, entry_hash = b.entry_hash FROM audit_head_backup b");
  }

  private void rewriteFrom(long from) {
    AuditForger.rewriteFrom(pool, from, WAIT);
  }
}
