package org.teekms.kms.adapters;

import static org.junit.jupiter.api.Assertions.*;

import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.SqlClient;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.kms.MutableClock;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.admission.AdmissionController;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.AdmissionObserver;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.admission.LocalAttestationPolicy;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.keys.ReleasedAppKeys;
import org.teekms.kms.roots.ChainRootAnchor;
import org.teekms.kms.roots.RootAnchorViolation;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.rotation.RotationWorker;
import org.teekms.kms.rotation.StepHook;
import org.teekms.kms.seal.SealingKey;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;

/**
 * Anti-rollback: the host can write the KMS's database and restore it from an old backup, but the
 * root generations' states are anchored on chain (KmsRegistry.rootGenerations, moved only by the
 * registry owner). A real anvil chain, a real PostgreSQL, a real root rotation; the "backup" is a
 * copy of the KMS's tables restored as pg_restore would (triggers off, rows back).
 */
@Timeout(180)
class RootRollbackTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Duration GRACE = Duration.ofDays(1);
  private static final byte[] COMPOSE = OnChainAdmissionTest.bytes(32, 0xc7);
  private static final byte[] OS = OnChainAdmissionTest.bytes(32, 0x05);
  private static final List<String> STATE_TABLES =
      List.of("root_generation", "root_seal", "app_key_state", "app_key_version");

  private static AnvilNode anvil;
  private static ChainClient chain;
  private static KmsRegistry registry;
  private static AppPolicy app;
  private static TestPostgres postgres;

  @BeforeAll
  static void start() throws Exception {
    anvil = AnvilNode.start();
    chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    Credentials owner =
        anvil.fundedAccount(); // the registry owner: a key or multisig, never the KMS
    registry = KmsRegistry.deploy(chain, owner, owner.getAddress()).registry();
    registry.addOsImage(OS);
    registry.addOsImageMeasurement(
        OS, OnChainAdmissionTest.bytes(32, 0x5e)); // the peers' golden mrSystem
    app = AppPolicy.at(chain, registry.registerApp(owner.getAddress()).appId(), owner);
    app.addComposeHash(COMPOSE);
    app.setAllowAnyDevice(true);
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stop() {
    if (postgres != null) postgres.close();
    if (chain != null) chain.close();
    if (anvil != null) anvil.close();
  }

  /** One KMS node on a fresh database: stores, keyring, admission against the real registry. */
  private static final class Node implements AutoCloseable {
    final Pool pool;
    final MutableClock clock = new MutableClock(System.currentTimeMillis());
    final AuditLog audit;
    final RootGenerationStore roots;
    final GovernanceAppPolicy policy;
    LiveKeyring keyring;
    AdmissionController controller;

    Node() {
      pool = postgres.pool(postgres.freshDatabase(), 8);
      audit = new AuditLog(pool, postgres.sessions(pool), clock);
      roots =
          new RootGenerationStore(
              postgres.sessions(pool), new SealingKey(new byte[32]), "kms-rollback-test");
      RootBootstrap.ensureBootstrapped(postgres.sessions(pool), roots, audit, clock)
          .await()
          .atMost(WAIT);
      PolicyReaderConfig config =
          PolicyReaderConfig.defaults(anvil.rpcUrl(), AnvilNode.CHAIN_ID, registry.address())
              .withConfirmations(0, false)
              .withCache(Duration.ZERO, 0);
      policy = new GovernanceAppPolicy(new ChainPolicyReader(config), AnvilNode.CHAIN_ID);
      restart();
    }

    /** A process restart: a fresh keyring (nothing unsealed yet) over the same database. */
    void restart() {
      if (keyring != null) keyring.close();
      keyring = new LiveKeyring(roots, WAIT);
      controller =
          new AdmissionController(
              postgres.sessions(pool),
              new LocalAttestationPolicy(Set.of("UpToDate"), Set.of(), Optional.empty()),
              policy,
              roots,
              keyring,
              new GrantLedger(audit),
              clock,
              WAIT,
              AdmissionObserver.NONE);
    }

    List<Integer> grant(List<Integer> versions) {
      List<ReleasedAppKeys> keys =
          controller
              .grantAppKeys(
                  OnChainAdmissionTest.peer(
                      Numeric.hexStringToByteArray(app.address()), COMPOSE, 1),
                  versions)
              .await()
              .atMost(java.time.Duration.ofSeconds(60))
              .keys();
      List<Integer> out = keys.stream().map(ReleasedAppKeys::version).toList();
      keys.forEach(ReleasedAppKeys::destroy);
      return out;
    }

    AdmissionDenied denied(List<Integer> versions) {
      return assertThrows(AdmissionDenied.class, () -> grant(versions));
    }

    /**
     * Rotates the root generation as the rotation job does, up to (not including) the destruction.
     */
    void rotateRoot(int from) {
      new RotationJobs(postgres.sessions(pool), clock)
          .enqueueRootRotation(from, "test")
          .await()
          .atMost(WAIT);
      worker().runUntilIdle(50).await().atMost(WAIT);
    }

    /** After the grace period, the job destroys the retired generation. */
    void destroyAfterGrace() {
      clock.advance(GRACE.plusSeconds(1));
      worker().runUntilIdle(50).await().atMost(WAIT);
    }

    private RotationWorker worker() {
      return new RotationWorker(
          postgres.sessions(pool), roots, audit, clock, GRACE, 100, StepHook.NONE);
    }

    /** A backup of the KMS's state tables (as pg_dump would take). */
    void backup(String name) {
      for (String t : STATE_TABLES) {
        sql(pool, "DROP TABLE IF EXISTS " + name + "_" + t);
        sql(pool, "CREATE TABLE " + name + "_" + t + " AS SELECT * FROM " + t);
      }
    }

    /**
     * Restores a backup as the host would (pg_restore with triggers off): rows back, whatever the
     * KMS did since.
     */
    void restore(String name) {
      List<String> statements =
          new java.util.ArrayList<>(List.of("SET LOCAL session_replication_role = replica"));
      for (int i = STATE_TABLES.size() - 1; i >= 0; i--)
        statements.add("DELETE FROM " + STATE_TABLES.get(i));
      for (String t : STATE_TABLES)
        statements.add("INSERT INTO " + t + " SELECT * FROM " + name + "_" + t);
      pool.withTransaction(
              tx -> {
                io.smallrye.mutiny.Uni<?> done = io.smallrye.mutiny.Uni.createFrom().voidItem();
                for (String statement : statements)
                  done = done.chain(() -> tx.query(statement).execute());
                return done.replaceWithVoid();
              })
          .await()
          .atMost(WAIT);
    }

    String lastAuditReason() {
      return pool.query("SELECT reason FROM audit_log ORDER BY seq DESC LIMIT 1")
          .execute()
          .await()
          .atMost(WAIT)
          .iterator()
          .next()
          .getString(0);
    }

    @Override
    public void close() {
      keyring.close();
      pool.closeAndAwait();
    }
  }

  private static void sql(SqlClient c, String statement) {
    c.query(statement).execute().await().atMost(WAIT);
  }

  /**
   * What the registry owner publishes after the KMS's rotation job promoted generation g (teekms
   * gov set-kms-identity).
   */
  private static void publish(int generation) throws Exception {
    byte[] marker = OnChainAdmissionTest.bytes(33, generation);
    registry.setKmsIdentity(
        generation,
        marker,
        new byte[] {0x30, (byte) generation},
        new byte[] {4, (byte) generation});
  }

  @Test
  void aDatabaseRestoredFromBeforeARotationIsRefused() throws Exception {
    String chainSnapshot = anvil.snapshot();
    try (Node kms = new Node()) {
      publish(1);
      assertEquals(List.of(1), kms.grant(List.of()));
      kms.backup("before_rotation");

      kms.rotateRoot(
          1); // generation 2 current (apps moved to version 2 on it), generation 1 retired
      publish(2); // the owner anchors it: chain current 2, generation 1 retired
      kms.destroyAfterGrace();
      registry.destroyRootGeneration(1); // the owner anchors the destruction
      assertEquals(List.of(2), kms.grant(List.of()), "version 1 died with generation 1");

      kms.restore("before_rotation");
      kms.restart();
      // The attack without the anchor: the restored database revives generation 1 (sealed copy and
      // all).
      try (LiveKeyring unanchored = new LiveKeyring(kms.roots, WAIT)) {
        assertEquals(
            1,
            unanchored.derive(null).await().indefinitely().keyring().currentGeneration(),
            "the backup revives generation 1");
      }
      AdmissionDenied d = kms.denied(List.of());
      assertEquals(DenyCode.ROOT_ANCHOR_MISMATCH, d.code());
      assertTrue(
          d.detail()
              .startsWith(
                  "the database's current root generation is 1 but the chain's is 2: the "
                      + "database was restored from a backup older than the rotation to generation 2"),
          d.detail());
      assertEquals("ROOT_ANCHOR_MISMATCH", kms.lastAuditReason(), "the refusal is audited");
      assertEquals(DenyCode.ROOT_ANCHOR_MISMATCH, kms.denied(List.of(1)).code());

      // Startup makes the same check before unsealing anything.
      ChainRootAnchor anchor = kms.policy.rootAnchor();
      assertEquals(
          new ChainRootAnchor(
              2, List.of(ChainRootAnchor.State.DESTROYED, ChainRootAnchor.State.CURRENT)),
          anchor);
      try (LiveKeyring startup = new LiveKeyring(kms.roots, WAIT)) {
        RootAnchorViolation v =
            assertThrows(
                RootAnchorViolation.class, () -> startup.derive(anchor).await().indefinitely());
        assertTrue(
            v.getMessage().contains("current root generation is 1 but the chain's is 2"),
            v.getMessage());
      }
    } finally {
      anvil.revert(chainSnapshot);
    }
  }

  @Test
  void aDestroyedGenerationRevivedFromABackupIsNeverUnsealedNorServed() throws Exception {
    String chainSnapshot = anvil.snapshot();
    try (Node kms = new Node()) {
      publish(1);
      assertEquals(List.of(1), kms.grant(List.of()));
      kms.rotateRoot(1);
      publish(2);
      assertEquals(
          List.of(1, 2), kms.grant(List.of()), "during the grace period both versions are served");
      kms.backup(
          "in_grace"); // generation 1 retired but not yet destroyed: its sealed copy is in the
      // backup

      kms.destroyAfterGrace();
      registry.destroyRootGeneration(1);
      kms.restore("in_grace");
      kms.restart();

      // The restored database agrees with the chain on the current generation, but revives
      // generation 1.
      AdmissionDenied d = kms.denied(List.of(1));
      assertEquals(DenyCode.ROOT_ANCHOR_MISMATCH, d.code());
      assertTrue(
          d.detail()
              .startsWith(
                  "key version 1: root generation 1 is DESTROYED on chain "
                      + "(current there: 2), but the database still holds it"),
          d.detail());
      assertEquals(List.of(2), kms.grant(List.of()), "only the version on a live generation");
      assertEquals(List.of(2), kms.grant(List.of(2)));
      ChainRootAnchor anchor = kms.policy.rootAnchor();
      assertFalse(
          kms.keyring.derive(anchor).await().indefinitely().keyring().generations().containsKey(1),
          "generation 1 was never unsealed");

      // A keyring that still held generation 1 (a node running since before the destruction)
      // zeroizes it.
      try (LiveKeyring running = new LiveKeyring(kms.roots, WAIT)) {
        assertTrue(
            running.derive(null).await().indefinitely().keyring().generations().containsKey(1),
            "held before the anchor is seen");
        assertEquals(
            org.teekms.keys.RootKeyring.GenerationState.DESTROYED,
            running.derive(anchor).await().indefinitely().keyring().generations().get(1));
      }
    } finally {
      anvil.revert(chainSnapshot);
    }
  }

  @Test
  void aRotationNotYetPublishedIsServedAndAnOwnerWhoRetiresTheKmsCurrentGenerationStopsIt()
      throws Exception {
    String chainSnapshot = anvil.snapshot();
    try (Node kms = new Node()) {
      assertEquals(
          List.of(1), kms.grant(List.of()), "before the first publication nothing is anchored yet");
      publish(1);
      kms.rotateRoot(1);
      // The job promoted generation 2; the owner has not published it yet: it is newer than the
      // chain's current one.
      assertEquals(List.of(1, 2), kms.grant(List.of()));
      publish(2);
      publish(
          3); // the owner anchors a generation this database never had (another node's, or a later
      // rotation)
      AdmissionDenied d = kms.denied(List.of());
      assertEquals(DenyCode.ROOT_ANCHOR_MISMATCH, d.code());
      assertTrue(
          d.detail().contains("current root generation is 2 but the chain's is 3"), d.detail());
    } finally {
      anvil.revert(chainSnapshot);
    }
  }

  @Test
  void anchorRulesOnTheirOwn() {
    ChainRootAnchor anchor =
        new ChainRootAnchor(
            2, List.of(ChainRootAnchor.State.DESTROYED, ChainRootAnchor.State.CURRENT));
    assertTrue(anchor.refusal(2).isEmpty());
    assertTrue(
        anchor.refusal(3).isEmpty(), "newer than the chain's current: promoted, not yet published");
    assertTrue(
        anchor.refusal(1).orElseThrow().startsWith("root generation 1 is DESTROYED on chain"));
    assertTrue(anchor.refusal(0).isPresent());
    assertThrows(
        IllegalArgumentException.class,
        () -> new ChainRootAnchor(3, List.of(ChainRootAnchor.State.CURRENT)));
    assertEquals(Arrays.asList(ChainRootAnchor.State.values()).size(), 4);
  }
}
