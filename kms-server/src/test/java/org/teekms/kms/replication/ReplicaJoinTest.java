package org.teekms.kms.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.kms.MutableClock;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.TestPeers;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.grant.GrantLedger;
import org.teekms.kms.grant.PolicyBlockRef;
import org.teekms.kms.onboarding.KmsPolicyPort;
import org.teekms.kms.onboarding.KmsPolicyVerdict;
import org.teekms.kms.onboarding.OnboardingClient;
import org.teekms.kms.onboarding.OnboardingController;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.rotation.RotationWorker;
import org.teekms.kms.rotation.StepHook;
import org.teekms.kms.seal.SealingKey;

/**
 * A replica joining a database it shares with the source node (different sealing keys): startup's
 * join and {@link SealedCopySync}'s poll use one {@link ReplicaJoin}, so a join asked for while
 * another is in flight waits for it, and a join when nothing is missing asks the source nothing.
 * One join, one release by the source, one grant and audit entry.
 */
class ReplicaJoinTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
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

  private static byte[] bytes(int n, int fill) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) fill);
    return b;
  }

  /** The joining node as the source sees it over RA-TLS. */
  private static final AttestedPeer JOINER =
      TestPeers.peer().mrAggregated(bytes(32, 0x11)).instance(bytes(20, 0x03)).build();

  /** The registry allows the joiner as a KMS. */
  private static final KmsPolicyPort ALLOWED =
      peer ->
          new KmsPolicyVerdict(
              KmsPolicyVerdict.Outcome.ALLOWED,
              "",
              Optional.of(new PolicyBlockRef(31337, 9, new byte[32])));

  /** Node A (the source, holds the roots) and node B (joins), on one database. */
  private record Nodes(Pool pool, RootGenerationStore a, AuditLog audit, RootGenerationStore b) {}

  private static Nodes nodes(MutableClock clock) {
    DatabaseCoordinates db = postgres.freshDatabase();
    Pool pool = postgres.pool(db, 8);
    AuditLog audit = new AuditLog(pool, postgres.sessions(pool), clock);
    RootGenerationStore a =
        new RootGenerationStore(
            postgres.sessions(pool), new SealingKey(bytes(32, 0x5a)), "kms-x", "a");
    RootGenerationStore b =
        new RootGenerationStore(
            postgres.sessions(pool), new SealingKey(bytes(32, 0x6b)), "kms-x", "b");
    RootBootstrap.ensureBootstrapped(postgres.sessions(pool), a, audit, clock).await().atMost(WAIT);
    return new Nodes(pool, a, audit, b);
  }

  /**
   * Node A's onboarding service as B's fetch reaches it, counting the calls; each call first waits
   * for {@code go}.
   */
  private static ReplicaJoin.Source source(
      Nodes n, AtomicInteger calls, CountDownLatch fetching, CountDownLatch go) {
    OnboardingController controller =
        new OnboardingController(ALLOWED, n.a(), new GrantLedger(n.audit()), WAIT);
    return () -> {
      calls.incrementAndGet();
      fetching.countDown();
      try {
        if (!go.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
          throw new IllegalStateException("the test never let the fetch go on");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      OnboardingController.Release r =
          controller.release(JOINER, "kms-x", "b").await().atMost(WAIT);
      return new OnboardingClient.Joined(r.generations(), r.grantId().toString(), JOINER);
    };
  }

  @Test
  void twoConcurrentJoinsOfOneNodeMakeTheSourceReleaseAndAuditOnce() throws Exception {
    MutableClock clock = new MutableClock(T0);
    Nodes n = nodes(clock);
    try {
      AtomicInteger calls = new AtomicInteger();
      CountDownLatch fetching = new CountDownLatch(1);
      CountDownLatch go = new CountDownLatch(1);
      ReplicaJoin join =
          new ReplicaJoin(
              "node-a:1",
              source(n, calls, fetching, go),
              postgres.sessions(n.pool()),
              n.b(),
              n.audit(),
              clock,
              WAIT);

      // Startup's join is with the source when SealedCopySync's poll finds generation 1 missing.
      CompletableFuture<ReplicaJoin.Result> startup = join.join().subscribeAsCompletionStage();
      assertTrue(fetching.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the first join fetches");
      CompletableFuture<ReplicaJoin.Result> poll = join.join().subscribeAsCompletionStage();
      // Gives a second fetch, if one is made, time to reach the source before the first returns.
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      while (calls.get() < 2 && System.nanoTime() < until) {
        Thread.sleep(20);
      }
      go.countDown();
      ReplicaJoin.Result first = startup.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      ReplicaJoin.Result second = poll.get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertEquals(1, calls.get(), "the source was asked once");
      assertEquals(ReplicaJoin.Outcome.COPIED, first.outcome());
      assertEquals(List.of(1), first.generations());
      assertEquals(first, second, "the second join is the first one's outcome, not a release");
      assertEquals(
          1L,
          count(n.pool(), "SELECT count(*) FROM key_grant WHERE kind = 'ONBOARDING'"),
          "one onboarding grant");
      assertEquals(
          1L,
          count(n.pool(), "SELECT count(*) FROM audit_log WHERE kind = 'GRANT_ONBOARDING'"),
          "one audit entry of the release");
      assertEquals(
          1L,
          count(
              n.pool(),
              "SELECT count(*) FROM audit_log WHERE detail_json LIKE '%sealed-copy-added%'"),
          "one copy added, audited once");
      assertEquals(2L, count(n.pool(), "SELECT count(*) FROM root_seal WHERE generation = 1"));

      // Later (the next poll): nothing is missing, so the source is not asked and says so.
      ReplicaJoin.Result later = join.join().await().atMost(WAIT);
      assertEquals(
          new ReplicaJoin.Result(ReplicaJoin.Outcome.NOTHING_MISSING, List.of(), Optional.empty()),
          later);
      assertEquals(1, calls.get());
      assertEquals(1L, count(n.pool(), "SELECT count(*) FROM key_grant"));
      assertTrue(n.audit().verify().await().atMost(WAIT).valid());
    } finally {
      n.pool().closeAndAwait();
    }
  }

  @Test
  void aGenerationPromotedAfterTheJoinIsObtainedByTheNextJoin() {
    MutableClock clock = new MutableClock(T0);
    Nodes n = nodes(clock);
    try {
      AtomicInteger calls = new AtomicInteger();
      CountDownLatch go = new CountDownLatch(0);
      ReplicaJoin join =
          new ReplicaJoin(
              "node-a:1",
              source(n, calls, new CountDownLatch(1), go),
              postgres.sessions(n.pool()),
              n.b(),
              n.audit(),
              clock,
              WAIT);
      assertEquals(List.of(1), join.join().await().atMost(WAIT).generations());

      // A's rotation promotes generation 2 with only A's copy; B's next join copies it.
      new RotationJobs(postgres.sessions(n.pool()), clock)
          .enqueueRootRotation(1, "test")
          .await()
          .atMost(WAIT);
      new RotationWorker(
              postgres.sessions(n.pool()),
              n.a(),
              n.audit(),
              clock,
              Duration.ofDays(1),
              10,
              StepHook.NONE)
          .runUntilIdle(10)
          .await()
          .atMost(WAIT);
      ReplicaJoin.Result next = join.join().await().atMost(WAIT);
      assertEquals(ReplicaJoin.Outcome.COPIED, next.outcome());
      assertEquals(List.of(2), next.generations());
      assertEquals(2, calls.get(), "one release per join that had something to obtain");
      assertEquals(List.of(), n.b().missingCopies().await().atMost(WAIT));
    } finally {
      n.pool().closeAndAwait();
    }
  }

  @Test
  void aFailedJoinFailsEveryWaiterWithItsReasonAndTheNextJoinAsksAgain() throws Exception {
    MutableClock clock = new MutableClock(T0);
    Nodes n = nodes(clock);
    try {
      AtomicInteger calls = new AtomicInteger();
      CountDownLatch fetching = new CountDownLatch(1);
      CountDownLatch go = new CountDownLatch(1);
      ReplicaJoin.Source works = source(n, new AtomicInteger(), new CountDownLatch(1), go);
      ReplicaJoin.Source refusedOnce =
          () -> {
            if (calls.incrementAndGet() == 1) {
              fetching.countDown();
              try {
                go.await(WAIT.toSeconds(), TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              throw new OnboardingClient.OnboardingRefused(
                  "the source refused or failed: UNAVAILABLE: KMS_UNAVAILABLE", null);
            }
            return works.fetch();
          };
      ReplicaJoin join =
          new ReplicaJoin(
              "node-a:1", refusedOnce, postgres.sessions(n.pool()), n.b(), n.audit(), clock, WAIT);
      CompletableFuture<ReplicaJoin.Result> startup = join.join().subscribeAsCompletionStage();
      assertTrue(fetching.await(WAIT.toSeconds(), TimeUnit.SECONDS));
      CompletableFuture<ReplicaJoin.Result> poll = join.join().subscribeAsCompletionStage();
      go.countDown();
      for (CompletableFuture<ReplicaJoin.Result> waiter : List.of(startup, poll)) {
        ExecutionException e =
            org.junit.jupiter.api.Assertions.assertThrows(
                ExecutionException.class, () -> waiter.get(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertEquals(
            "the source refused or failed: UNAVAILABLE: KMS_UNAVAILABLE",
            e.getCause().getMessage());
      }
      assertEquals(1, calls.get(), "both waited for the one refused fetch");
      assertEquals(List.of(1), n.b().missingCopies().await().atMost(WAIT), "nothing stored");

      ReplicaJoin.Result retried = join.join().await().atMost(WAIT);
      assertEquals(ReplicaJoin.Outcome.COPIED, retried.outcome());
      assertEquals(2, calls.get());
    } finally {
      n.pool().closeAndAwait();
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
