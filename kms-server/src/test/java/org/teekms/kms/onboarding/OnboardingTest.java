package org.teekms.kms.onboarding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.mutiny.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.admission.TestPeers;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.rotation.RotationWorker;
import org.teekms.kms.rotation.StepHook;
import org.teekms.kms.seal.SealingKey;

/** Replica onboarding between two KMS nodes with their own databases and sealing keys. */
class OnboardingTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final byte[] ALLOWED_MEASUREMENT = bytes(32, 0x11);
  private static TestPostgres postgres;

  @BeforeAll
  static void start() {
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stop() {
    postgres.close();
  }

  /** The source node's root store ("kms-x", its own sealing key), bootstrapped: generation 1. */
  private static RootGenerationStore bootstrappedRoots(Pool pool, AuditLog audit, Clock clock) {
    RootGenerationStore roots =
        new RootGenerationStore(postgres.sessions(pool), new SealingKey(bytes(32, 0x5a)), "kms-x");
    RootBootstrap.ensureBootstrapped(postgres.sessions(pool), roots, audit, clock)
        .await()
        .atMost(WAIT);
    return roots;
  }

  static byte[] bytes(int n, int fill) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) fill);
    return b;
  }

  static AttestedPeer node(byte[] measurement, boolean debug) {
    return TestPeers.peer()
        .app(bytes(20, 0x01))
        .compose(bytes(32, 0x02))
        .instance(bytes(20, 0x03))
        .device(bytes(32, 0x04))
        .mrAggregated(measurement)
        .osImage(bytes(32, 0x05))
        .debug(debug)
        .build();
  }

  /** The registry's isKmsAllowed, reduced to its measurement check; or a chain that is down. */
  static KmsPolicyPort chain(boolean up) {
    return peer -> {
      if (!up) {
        return new KmsPolicyVerdict(
            KmsPolicyVerdict.Outcome.UNAVAILABLE,
            "RPC_UNAVAILABLE: connection refused",
            Optional.empty());
      }
      PolicyBlockRef block = new PolicyBlockRef(31337, 9, new byte[32]);
      return Arrays.equals(peer.mrAggregated().toByteArray(), ALLOWED_MEASUREMENT)
          ? new KmsPolicyVerdict(KmsPolicyVerdict.Outcome.ALLOWED, "", Optional.of(block))
          : new KmsPolicyVerdict(
              KmsPolicyVerdict.Outcome.DENIED, "KMS measurement not allowed", Optional.of(block));
    };
  }

  @Test
  void allowedReplicaGetsTheRootsAndDerivesTheSameKeys() throws Exception {
    Clock clock = Clock.systemUTC();
    Pool sourcePool = postgres.pool(postgres.freshDatabase(), 4);
    Pool replicaPool = postgres.pool(postgres.freshDatabase(), 4);
    try {
      AuditLog sourceAudit = new AuditLog(sourcePool, postgres.sessions(sourcePool), clock);
      RootGenerationStore sourceRoots = bootstrappedRoots(sourcePool, sourceAudit, clock);
      // A root rotation, so a RETIRED and a CURRENT generation travel.
      new RotationJobs(postgres.sessions(sourcePool), clock)
          .enqueueRootRotation(1, "test")
          .await()
          .atMost(WAIT);
      new RotationWorker(
              postgres.sessions(sourcePool),
              sourceRoots,
              sourceAudit,
              clock,
              Duration.ofDays(1),
              10,
              StepHook.NONE)
          .runUntilIdle(10)
          .await()
          .atMost(WAIT);

      OnboardingController source =
          new OnboardingController(chain(true), sourceRoots, new GrantLedger(sourceAudit), WAIT);
      OnboardingController.Release release =
          source
              .release(node(ALLOWED_MEASUREMENT, false), "kms-x", "replica-2")
              .await()
              .indefinitely();
      assertEquals(
          List.of(1, 2),
          release.generations().stream().map(RootGenerationRelease::generation).toList());

      AuditLog replicaAudit = new AuditLog(replicaPool, postgres.sessions(replicaPool), clock);
      RootGenerationStore replicaRoots =
          new RootGenerationStore(
              postgres.sessions(replicaPool), new SealingKey(bytes(32, 0x6b)), "kms-x");
      RootImport.importInto(
              postgres.sessions(replicaPool),
              replicaRoots,
              replicaAudit,
              release.generations(),
              "kms-x",
              clock.millis())
          .await()
          .atMost(WAIT);
      long sourceDestroyAfter =
          sourceRoots.list().await().atMost(WAIT).get(0).destroyAfter().orElseThrow();
      assertEquals(
          sourceDestroyAfter,
          release.generations().get(0).destroyAfter(),
          "the date travels with the secret");
      release.generations().forEach(RootGenerationRelease::destroy);
      assertEquals(
          Optional.of(sourceDestroyAfter),
          replicaRoots.list().await().atMost(WAIT).get(0).destroyAfter(),
          "the replica stores the source's destruction date of the RETIRED generation");

      try (LiveKeyring a = new LiveKeyring(sourceRoots, WAIT);
          LiveKeyring b = new LiveKeyring(replicaRoots, WAIT)) {
        for (int g = 1; g <= 2; g++) {
          assertEquals(
              a.derive(null).await().indefinitely().kmsRootKey(g).ethereumAddress(),
              b.derive(null).await().indefinitely().kmsRootKey(g).ethereumAddress());
        }
        assertEquals(2, b.derive(null).await().indefinitely().keyring().currentGeneration());
      }
      AuditEntry granted = sourceAudit.byEventId(release.grantId()).await().atMost(WAIT);
      assertEquals("GRANT_ONBOARDING", granted.kind());
      assertTrue(granted.detailJson().contains("replica-2"));
      assertTrue(!granted.detailJson().contains("secret"), "no secret in the audit entry");
      // The replica destroys its copy of generation 1 at the source's date: not a millisecond
      // before, then at once.
      RotationWorker before =
          new RotationWorker(
              postgres.sessions(replicaPool),
              replicaRoots,
              replicaAudit,
              Clock.fixed(Instant.ofEpochMilli(sourceDestroyAfter - 1), ZoneOffset.UTC),
              Duration.ofDays(30),
              10,
              StepHook.NONE);
      assertEquals(List.of(), before.runUntilIdle(10).await().atMost(WAIT));
      assertEquals(RootState.RETIRED, replicaRoots.list().await().atMost(WAIT).get(0).state());
      RotationWorker after =
          new RotationWorker(
              postgres.sessions(replicaPool),
              replicaRoots,
              replicaAudit,
              Clock.fixed(Instant.ofEpochMilli(sourceDestroyAfter), ZoneOffset.UTC),
              Duration.ofDays(30),
              10,
              StepHook.NONE);
      assertEquals(1, after.runUntilIdle(10).await().atMost(WAIT).size());
      assertEquals(
          List.of(RootState.DESTROYED, RootState.CURRENT),
          replicaRoots.list().await().atMost(WAIT).stream().map(RootGeneration::state).toList());
      assertThrows(Exception.class, () -> replicaRoots.unseal(1).await().atMost(WAIT));
      assertTrue(replicaAudit.verify().await().atMost(WAIT).valid());

      // A second import into a database that already holds roots is refused.
      assertThrows(
          Exception.class,
          () ->
              RootImport.importInto(
                      postgres.sessions(replicaPool),
                      replicaRoots,
                      replicaAudit,
                      source
                          .release(node(ALLOWED_MEASUREMENT, false), "kms-x", "replica-2")
                          .await()
                          .indefinitely()
                          .generations(),
                      "kms-x",
                      clock.millis())
                  .await()
                  .atMost(WAIT));
    } finally {
      sourcePool.closeAndAwait();
      replicaPool.closeAndAwait();
    }
  }

  /**
   * A RETIRED generation past its destruction date is withheld by the source (named in the grant),
   * not released.
   */
  @Test
  void theSourceStopsReleasingRetiredGenerationsPastTheirDestructionDate() throws Exception {
    Clock clock = Clock.systemUTC();
    Pool sourcePool = postgres.pool(postgres.freshDatabase(), 4);
    try {
      AuditLog sourceAudit = new AuditLog(sourcePool, postgres.sessions(sourcePool), clock);
      RootGenerationStore sourceRoots = bootstrappedRoots(sourcePool, sourceAudit, clock);
      new RotationJobs(postgres.sessions(sourcePool), clock)
          .enqueueRootRotation(1, "test")
          .await()
          .atMost(WAIT);
      new RotationWorker(
              postgres.sessions(sourcePool),
              sourceRoots,
              sourceAudit,
              clock,
              Duration.ofDays(1),
              10,
              StepHook.NONE)
          .runUntilIdle(10)
          .await()
          .atMost(WAIT);
      long destroyAfter =
          sourceRoots.list().await().atMost(WAIT).get(0).destroyAfter().orElseThrow();
      // the scheduler has not destroyed it yet (it runs late, or is down): the date alone decides
      OnboardingController justBefore =
          new OnboardingController(
              chain(true),
              sourceRoots,
              new GrantLedger(sourceAudit),
              WAIT,
              Clock.fixed(Instant.ofEpochMilli(destroyAfter - 1), ZoneOffset.UTC));
      OnboardingController.Release before =
          justBefore
              .release(node(ALLOWED_MEASUREMENT, false), "kms-x", "replica-2")
              .await()
              .indefinitely();
      assertEquals(
          List.of(1, 2),
          before.generations().stream().map(RootGenerationRelease::generation).toList());
      before.generations().forEach(RootGenerationRelease::destroy);
      OnboardingController atDate =
          new OnboardingController(
              chain(true),
              sourceRoots,
              new GrantLedger(sourceAudit),
              WAIT,
              Clock.fixed(Instant.ofEpochMilli(destroyAfter), ZoneOffset.UTC));
      OnboardingController.Release after =
          atDate
              .release(node(ALLOWED_MEASUREMENT, false), "kms-x", "replica-2")
              .await()
              .indefinitely();
      try {
        assertEquals(
            List.of(2),
            after.generations().stream().map(RootGenerationRelease::generation).toList());
        assertEquals(
            RootState.RETIRED,
            sourceRoots.list().await().atMost(WAIT).get(0).state(),
            "still RETIRED in the database: only the release is refused");
        assertEquals("kms-x", after.kmsId(), "the source answers with its own KMS id");
        AuditEntry granted = sourceAudit.byEventId(after.grantId()).await().atMost(WAIT);
        assertTrue(granted.detailJson().contains("withheldPastDestruction"), granted.detailJson());
      } finally {
        after.generations().forEach(RootGenerationRelease::destroy);
      }
    } finally {
      sourcePool.closeAndAwait();
    }
  }

  @Test
  void retiredGenerationWithoutItsDestructionDateIsRefused() {
    Pool pool = postgres.pool(postgres.freshDatabase(), 2);
    try {
      RootGenerationStore roots =
          new RootGenerationStore(
              postgres.sessions(pool), new SealingKey(bytes(32, 0x6b)), "kms-x");
      AuditLog audit = new AuditLog(pool, postgres.sessions(pool), Clock.systemUTC());
      List<RootGenerationRelease> undated =
          List.of(
              new RootGenerationRelease(1, RootState.RETIRED, bytes(32, 1), 1),
              new RootGenerationRelease(2, RootState.CURRENT, bytes(32, 2), 2));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  RootImport.importInto(
                      postgres.sessions(pool), roots, audit, undated, "kms-x", 3));
      assertTrue(e.getMessage().contains("without its destruction date"), e.getMessage());
      List<RootGenerationRelease> datedCurrent =
          List.of(new RootGenerationRelease(1, RootState.CURRENT, bytes(32, 1), 1, 5));
      assertThrows(
          IllegalArgumentException.class,
          () ->
              RootImport.importInto(
                  postgres.sessions(pool), roots, audit, datedCurrent, "kms-x", 3));
      assertEquals(List.of(), roots.list().await().atMost(WAIT), "nothing stored");
    } finally {
      pool.closeAndAwait();
    }
  }

  @Test
  void refusalsAreAuditedWithTheirReason() {
    Clock clock = Clock.systemUTC();
    Pool pool = postgres.pool(postgres.freshDatabase(), 4);
    try {
      AuditLog audit = new AuditLog(pool, postgres.sessions(pool), clock);
      RootGenerationStore roots = bootstrappedRoots(pool, audit, clock);
      OnboardingController up =
          new OnboardingController(chain(true), roots, new GrantLedger(audit), WAIT);
      OnboardingController down =
          new OnboardingController(chain(false), roots, new GrantLedger(audit), WAIT);
      assertEquals(
          DenyCode.KMS_NOT_ALLOWED,
          assertThrows(
                  AdmissionDenied.class,
                  () ->
                      up.release(node(bytes(32, 0x12), false), "kms-x", "rogue")
                          .await()
                          .indefinitely())
              .code());
      assertEquals(
          DenyCode.REQUEST_INVALID,
          assertThrows(
                  AdmissionDenied.class,
                  () ->
                      up.release(node(ALLOWED_MEASUREMENT, false), "kms-other", "n")
                          .await()
                          .indefinitely())
              .code());
      assertEquals(
          DenyCode.DEBUG_TD,
          assertThrows(
                  AdmissionDenied.class,
                  () ->
                      up.release(node(ALLOWED_MEASUREMENT, true), "kms-x", "n")
                          .await()
                          .indefinitely())
              .code());
      AdmissionDenied chainDown =
          assertThrows(
              AdmissionDenied.class,
              () ->
                  down.release(node(ALLOWED_MEASUREMENT, false), "kms-x", "n")
                      .await()
                      .indefinitely());
      assertEquals(DenyCode.CHAIN_UNAVAILABLE, chainDown.code());
      List<String> reasons =
          audit.list(null, 0, Long.MAX_VALUE, 0, 100).await().atMost(WAIT).stream()
              .filter(e -> e.kind().equals("DENY_ONBOARDING"))
              .map(AuditEntry::reason)
              .toList();
      assertEquals(
          List.of("KMS_NOT_ALLOWED", "REQUEST_INVALID", "DEBUG_TD", "CHAIN_UNAVAILABLE"), reasons);
      assertTrue(audit.verify().await().atMost(WAIT).valid());
    } finally {
      pool.closeAndAwait();
    }
  }

  @Test
  void aNodeLaunchedForAnotherConfigurationIsRefusedMrConfigIdMismatchAndAudited() {
    Clock clock = Clock.systemUTC();
    Pool pool = postgres.pool(postgres.freshDatabase(), 4);
    try {
      AuditLog audit = new AuditLog(pool, postgres.sessions(pool), clock);
      RootGenerationStore roots = bootstrappedRoots(pool, audit, clock);
      OnboardingController up =
          new OnboardingController(chain(true), roots, new GrantLedger(audit), WAIT);
      // An allowed measurement, but the host launched the TD naming another compose than the one
      // the node measured (its compose hash is 0x02…).
      AttestedPeer launchedElsewhere =
          TestPeers.from(node(ALLOWED_MEASUREMENT, false))
              .td(
                  org.teekms.kms.admission.TestTd.withMrConfigId(
                      org.teekms.attest.eventlog.MrConfigId.v1(bytes(32, 0x09))))
              .build();
      AdmissionDenied d =
          assertThrows(
              AdmissionDenied.class,
              () -> up.release(launchedElsewhere, "kms-x", "n").await().indefinitely());
      assertEquals(DenyCode.MR_CONFIG_ID_MISMATCH, d.code());
      assertTrue(d.detail().contains("does not bind the measured compose hash"), d.detail());
      List<String> reasons =
          audit.list(null, 0, Long.MAX_VALUE, 0, 100).await().atMost(WAIT).stream()
              .filter(e -> e.kind().equals("DENY_ONBOARDING"))
              .map(AuditEntry::reason)
              .toList();
      assertEquals(List.of("MR_CONFIG_ID_MISMATCH"), reasons);
      // Launched for the compose it measured: not refused for MRCONFIGID (it gets the roots).
      AttestedPeer launchedForItself =
          TestPeers.from(node(ALLOWED_MEASUREMENT, false))
              .td(
                  org.teekms.kms.admission.TestTd.withMrConfigId(
                      org.teekms.attest.eventlog.MrConfigId.v1(bytes(32, 0x02))))
              .build();
      assertTrue(
          up.release(launchedForItself, "kms-x", "n").await().atMost(WAIT).generations().size()
              >= 1);
    } finally {
      pool.closeAndAwait();
    }
  }

  /**
   * A database that accepts the connection and never answers (as PostgreSQL did at load 45 during
   * the replica run): the release is refused within {@code teekms.db-timeout} and says so; nothing
   * is released, because no grant was recorded.
   */
  @Test
  void aLedgerThatNeverAnswersRefusesTheReleaseNamingTheDbTimeout() throws Exception {
    Clock clock = Clock.systemUTC();
    Duration dbTimeout = Duration.ofSeconds(2);
    Pool pool = postgres.pool(postgres.freshDatabase(), 4);
    java.util.List<java.net.Socket> held =
        java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    try (java.net.ServerSocket silent =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    held.add(silent.accept()); // read nothing, answer nothing
                  }
                } catch (java.io.IOException closed) {
                  // the test is over
                }
              },
              "silent-database");
      acceptor.setDaemon(true);
      acceptor.start();
      Pool silentPool =
          postgres.pool(
              new org.teekms.kms.db.DatabaseCoordinates(
                  "127.0.0.1", silent.getLocalPort(), "kms", "postgres", "postgres"),
              2);
      try {
        AuditLog audit = new AuditLog(pool, postgres.sessions(pool), clock);
        RootGenerationStore roots = bootstrappedRoots(pool, audit, clock);
        GrantLedger silentLedger =
            new GrantLedger(new AuditLog(silentPool, postgres.sessions(silentPool), clock));
        OnboardingController source =
            new OnboardingController(chain(true), roots, silentLedger, dbTimeout);

        long started = System.nanoTime();
        AdmissionDenied refused =
            assertThrows(
                AdmissionDenied.class,
                () ->
                    source
                        .release(node(ALLOWED_MEASUREMENT, false), "kms-x", "replica-2")
                        .await()
                        .atMost(WAIT));
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        assertEquals(DenyCode.KMS_UNAVAILABLE, refused.code());
        assertEquals(
            "the onboarding could not be audited, so nothing is released: the database did not "
                + "record the grant within PT2S (teekms.db-timeout)",
            refused.detail());
        // the grant's wait, then the refusal's audit attempt's (which also never answers)
        assertTrue(took.compareTo(WAIT) < 0, "refused in " + took);
        assertTrue(held.size() >= 1, "the ledger's database was asked");
        assertEquals(
            List.of(),
            audit.list(null, 0, Long.MAX_VALUE, 0, 100).await().atMost(WAIT).stream()
                .filter(e -> e.kind().startsWith("GRANT_"))
                .toList(),
            "no grant on the source's own database either");
      } finally {
        // the silent end hangs up first: a pool never closes while its connection attempts wait
        silent.close();
        synchronized (held) {
          for (java.net.Socket s : held) {
            s.close();
          }
        }
        silentPool.close().await().atMost(WAIT);
      }
    } finally {
      pool.closeAndAwait();
    }
  }
}
