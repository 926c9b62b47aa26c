package org.teekms.kms.onboarding;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.teekms.kms.onboarding.OnboardingTest.bytes;
import static org.teekms.kms.onboarding.OnboardingTest.chain;
import static org.teekms.kms.onboarding.OnboardingTest.node;

import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.kms.MutableClock;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.rotation.RotationWorker;
import org.teekms.kms.rotation.StepHook;
import org.teekms.kms.seal.SealingException;
import org.teekms.kms.seal.SealingKey;

/**
 * Two replicas on ONE database with DIFFERENT sealing keys (as the local key provider gives two
 * machines): each keeps its own sealed copy of every live root generation (table root_seal); a node
 * without its copy cannot unseal and says why, obtains the secret by onboarding from the peer and
 * seals its own copy; rotation writes the creator's copy and the other node catches up the same
 * way; destruction shreds every copy.
 */
class SharedDatabaseReplicasTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final byte[] ALLOWED = bytes(32, 0x11);
  private static final long T0 = 1_800_000_000_000L;
  private static TestPostgres postgres;

  @BeforeAll
  static void start() {
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stop() {
    postgres.close();
  }

  /** One replica: its own pool to the shared database, its own sealing key. */
  record Replica(Pool pool, RootGenerationStore roots, AuditLog audit) {
    static Replica on(DatabaseCoordinates db, int keyFill, String nodeId, MutableClock clock) {
      Pool pool = postgres.pool(db, 4);
      return new Replica(
          pool,
          new RootGenerationStore(
              postgres.sessions(pool), new SealingKey(bytes(32, keyFill)), "kms-x", nodeId),
          new AuditLog(pool, postgres.sessions(pool), clock));
    }

    /** Onboarding from {@code peer} (its controller releases; this node keeps its own copies). */
    List<Integer> copyFrom(Replica peer, MutableClock clock) {
      OnboardingController source =
          new OnboardingController(chain(true), peer.roots, new GrantLedger(peer.audit), WAIT);
      List<RootGenerationRelease> released =
          source.release(node(ALLOWED, false), "kms-x", "b").await().indefinitely().generations();
      try {
        return RootImport.addCopies(
                postgres.sessions(pool), roots, audit, released, "kms-x", clock.millis())
            .await()
            .atMost(WAIT);
      } finally {
        released.forEach(RootGenerationRelease::destroy);
      }
    }
  }

  @Test
  void twoNodesWithDifferentSealingKeysOnOneDatabaseServeTheSameRoots() {
    MutableClock clock = new MutableClock(T0);
    DatabaseCoordinates db = postgres.freshDatabase();
    Replica a = Replica.on(db, 0x5a, "a", clock);
    Replica b = Replica.on(db, 0x6b, "b", clock);
    try (LiveKeyring ka = new LiveKeyring(a.roots(), WAIT);
        LiveKeyring kb = new LiveKeyring(b.roots(), WAIT)) {
      RootBootstrap.ensureBootstrapped(postgres.sessions(a.pool()), a.roots(), a.audit(), clock)
          .await()
          .atMost(WAIT);
      assertEquals(List.of(), a.roots().missingCopies().await().atMost(WAIT));
      assertEquals(List.of(1), b.roots().missingCopies().await().atMost(WAIT));

      // B cannot unseal A's copy, and says exactly why.
      SealingException lacking =
          assertThrows(SealingException.class, () -> b.roots().unseal(1).await().atMost(WAIT));
      assertEquals(
          "root generation 1 has no copy sealed under this node's sealing key "
              + b.roots().sealingKeyId()
              + " (copies exist for sealing keys: "
              + a.roots().sealingKeyId()
              + "); obtain it by onboarding from a peer "
              + "that holds it (teekms.onboarding.source)",
          lacking.getMessage());
      RuntimeException keyring =
          assertThrows(RuntimeException.class, () -> kb.derive(null).await().indefinitely());
      assertTrue(
          keyring.getMessage().contains("has no copy sealed under this node's sealing key"),
          keyring.getMessage());

      // B onboards from A and seals its own copy; both now serve the same root.
      assertEquals(List.of(1), b.copyFrom(a, clock));
      assertEquals(List.of(), b.roots().missingCopies().await().atMost(WAIT));
      assertArrayEquals(
          a.roots().unseal(1).await().atMost(WAIT), b.roots().unseal(1).await().atMost(WAIT));
      assertEquals(
          ka.derive(null).await().indefinitely().kmsRootKey(1).ethereumAddress(),
          kb.derive(null).await().indefinitely().kmsRootKey(1).ethereumAddress());
      assertEquals(2L, count(a.pool(), "SELECT count(*) FROM root_seal WHERE generation = 1"));
      assertEquals(List.of(), b.copyFrom(a, clock), "idempotent: nothing left to copy");

      // Rotation on A writes A's copy of generation 2 in the same step; B lacks it until it
      // onboards again.
      new RotationJobs(postgres.sessions(a.pool()), clock)
          .enqueueRootRotation(1, "test")
          .await()
          .atMost(WAIT);
      RotationWorker worker =
          new RotationWorker(
              postgres.sessions(a.pool()),
              a.roots(),
              a.audit(),
              clock,
              Duration.ofDays(1),
              10,
              StepHook.NONE);
      worker.runUntilIdle(10).await().atMost(WAIT);
      assertEquals(List.of(), a.roots().missingCopies().await().atMost(WAIT));
      assertEquals(List.of(2), b.roots().missingCopies().await().atMost(WAIT));
      assertEquals(2, ka.derive(null).await().indefinitely().keyring().currentGeneration());
      assertThrows(
          RuntimeException.class,
          () -> kb.derive(null).await().indefinitely(),
          "B must not serve without generation 2");
      assertEquals(List.of(2), b.copyFrom(a, clock));
      for (int g = 1; g <= 2; g++) {
        assertEquals(
            ka.derive(null).await().indefinitely().kmsRootKey(g).ethereumAddress(),
            kb.derive(null).await().indefinitely().kmsRootKey(g).ethereumAddress());
      }

      // Destruction of generation 1 (after the grace period) shreds both nodes' copies; none can be
      // added back.
      clock.advance(Duration.ofDays(2));
      worker.runUntilIdle(10).await().atMost(WAIT);
      assertEquals(0L, count(a.pool(), "SELECT count(*) FROM root_seal WHERE generation = 1"));
      assertEquals(2L, count(a.pool(), "SELECT count(*) FROM root_seal WHERE generation = 2"));
      SealingException destroyed =
          assertThrows(SealingException.class, () -> b.roots().unseal(1).await().atMost(WAIT));
      assertEquals("root generation 1 was destroyed", destroyed.getMessage());
      Exception noResurrection =
          assertThrows(
              Exception.class,
              () ->
                  postgres
                      .sessions(a.pool())
                      .inTransaction(tx -> a.roots().addCopy(tx, 1, new byte[32], clock.millis()))
                      .await()
                      .atMost(WAIT));
      assertTrue(
          noResurrection.getMessage().contains("root generation 1 is destroyed"),
          noResurrection.getMessage());
      assertTrue(a.audit().verify().await().atMost(WAIT).valid());
    } finally {
      a.pool().closeAndAwait();
      b.pool().closeAndAwait();
    }
  }

  @Test
  void copiesFromAnotherKmsOrMissingGenerationsAreRefused() {
    MutableClock clock = new MutableClock(T0);
    DatabaseCoordinates db = postgres.freshDatabase();
    Replica a = Replica.on(db, 0x5a, "a", clock);
    Replica b = Replica.on(db, 0x6b, "b", clock);
    try {
      RootBootstrap.ensureBootstrapped(postgres.sessions(a.pool()), a.roots(), a.audit(), clock)
          .await()
          .atMost(WAIT);
      assertThrows(
          IllegalArgumentException.class,
          () ->
              RootImport.addCopies(
                  postgres.sessions(b.pool()),
                  b.roots(),
                  b.audit(),
                  List.of(),
                  "kms-other",
                  clock.millis()));
      IllegalStateException none =
          assertThrows(
              IllegalStateException.class,
              () ->
                  RootImport.addCopies(
                          postgres.sessions(b.pool()),
                          b.roots(),
                          b.audit(),
                          List.of(),
                          "kms-x",
                          clock.millis())
                      .await()
                      .atMost(WAIT));
      assertEquals(
          "the source did not release root generation 1, which this node lacks (released: [])",
          none.getMessage());
      assertEquals(
          1L, count(a.pool(), "SELECT count(*) FROM root_seal"), "nothing written on refusal");
    } finally {
      a.pool().closeAndAwait();
      b.pool().closeAndAwait();
    }
  }

  @Test
  void migrationMovesExistingSealedSecretsToTheirKeysCopy() {
    DatabaseCoordinates admin = postgres.server().coordinates();
    Pool adminPool = postgres.pool(admin, 1);
    String name = "v2_" + ProcessHandle.current().pid();
    try {
      adminPool.query("CREATE DATABASE " + name).execute().await().atMost(WAIT);
    } finally {
      adminPool.closeAndAwait();
    }
    DatabaseCoordinates db =
        new DatabaseCoordinates(
            admin.host(), admin.port(), name, admin.username(), admin.password());
    org.flywaydb.core.Flyway.configure()
        .dataSource(db.jdbcUrl(), db.username(), db.password())
        .locations("classpath:db/migration")
        .target("2")
        .load()
        .migrate();
    SealingKey key = new SealingKey(bytes(32, 0x5a));
    byte[] secret = bytes(32, 0x42);
    Pool pool = postgres.pool(db, 2);
    try {
      // A generation as schema V2 stored it: the secret in root_generation.
      pool.preparedQuery(
              "INSERT INTO root_generation (generation, state, sealed_secret, sealing_key_id, created_at) "
                  + "VALUES (1, 'CURRENT', $1, $2, $3)")
          .execute(
              Tuple.tuple()
                  .addBuffer(
                      io.vertx.mutiny.core.buffer.Buffer.buffer(
                          org.teekms.kms.roots.RootSealing.seal(key, "kms-x", 1, secret)))
                  .addString(key.keyId())
                  .addLong(T0))
          .await()
          .atMost(WAIT);
      // Migrated past V3 (the version that moves sealed secrets), to whatever is latest.
      assertTrue(Integer.parseInt(org.teekms.kms.db.SchemaMigrator.migrate(db)) >= 3);
      RootGenerationStore roots =
          new RootGenerationStore(postgres.sessions(pool), key, "kms-x", "a");
      assertArrayEquals(secret, roots.unseal(1).await().atMost(WAIT));
      assertEquals(
          0L, count(pool, "SELECT count(*) FROM root_generation WHERE sealed_secret IS NOT NULL"));
      assertEquals(List.of(), roots.missingCopies().await().atMost(WAIT));
    } finally {
      pool.closeAndAwait();
    }
  }

  private static long count(Pool pool, String sql) {
    return pool.preparedQuery(sql)
        .execute(Tuple.tuple())
        .await()
        .atMost(WAIT)
        .iterator()
        .next()
        .getLong(0);
  }
}
