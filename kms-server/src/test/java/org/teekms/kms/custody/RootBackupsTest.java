package org.teekms.kms.custody;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.custody.BackupStore;
import org.teekms.custody.CustodianShare;
import org.teekms.custody.RootBackup;
import org.teekms.custody.Shamir;
import org.teekms.custody.Share;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;
import org.teekms.kms.MutableClock;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.rotation.RotationJob;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.rotation.RotationWorker;
import org.teekms.kms.rotation.StepHook;
import org.teekms.kms.rotation.StepResult;
import org.teekms.kms.seal.SealingKey;

/**
 * Automatic root backup on a real PostgreSQL with the simulated chain: a rotated generation is
 * split among the on-chain custodians, staged, made visible, promoted only once published exactly
 * as made; anything else fails closed; a kill at any step leaves one backup that recovers the root.
 */
class RootBackupsTest {

  private static final long T0 = 1_767_225_600_000L;
  private static final Duration RECHECK = Duration.ofSeconds(30);
  private static TestPostgres postgres;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stop() {
    postgres.close();
  }

  private static <T> T await(Uni<T> u) {
    return u.await().atMost(TestPostgres.WAIT);
  }

  /** A bootstrapped KMS node with custody over its own store directory. */
  private final class Node implements AutoCloseable {
    final Pool pool = postgres.pool(postgres.freshDatabase(), 4);
    final MutableClock clock = new MutableClock(T0);
    final AuditLog audit = new AuditLog(pool, postgres.sessions(pool), clock);
    final RootGenerationStore roots =
        new RootGenerationStore(
            postgres.sessions(pool), new SealingKey(new byte[32]), "kms-custody-test");
    final RotationJobs jobs = new RotationJobs(postgres.sessions(pool), clock);
    final InMemoryCustodyChain chain;
    final Path store;
    final RootBackups backups;

    Node(int custodians, int threshold, boolean required) {
      chain = new InMemoryCustodyChain(custodians, new SecureRandom());
      store = dir.resolve("store-" + UUID.randomUUID());
      backups =
          new RootBackups(
              chain,
              new RootBackups.Settings(threshold, store, required),
              roots,
              new SecureRandom());
      assertTrue(
          await(RootBootstrap.ensureBootstrapped(postgres.sessions(pool), roots, audit, clock)));
    }

    RotationWorker worker(StepHook hook) {
      return new RotationWorker(
          postgres.sessions(pool),
          roots,
          audit,
          clock,
          Duration.ofDays(1),
          10,
          hook,
          backups,
          RECHECK);
    }

    RootState state(int generation) {
      return await(roots.list()).stream()
          .filter(g -> g.generation() == generation)
          .findFirst()
          .orElseThrow()
          .state();
    }

    RotationJob job(UUID id) {
      return await(jobs.get(id)).orElseThrow();
    }

    byte[] root(int generation) {
      return await(roots.unseal(generation));
    }

    List<String> storeEntries() throws Exception {
      try (Stream<Path> s = Files.list(store)) {
        return s.map(p -> p.getFileName().toString()).sorted().toList();
      }
    }

    @Override
    public void close() {
      pool.closeAndAwait();
    }
  }

  /**
   * The custodians open their envelopes (as check-share does) and any {@code t} of them rebuild the
   * root.
   */
  private static void assertCustodiansRecover(Node node, int generation, int threshold)
      throws Exception {
    RootBackup stored = new BackupStore(node.store).read(generation);
    List<Share> shares = new ArrayList<>();
    var published = node.chain.published.get(generation);
    for (RootBackup.SealedShare s : stored.shares()) {
      byte[] digest =
          published != null
              ? published.envelopeDigests().get(s.index() - 1).toByteArray()
              : s.digest();
      shares.add(
          CustodianShare.open(
              node.chain.custodians.get(s.index() - 1),
              generation,
              s.index(),
              stored.commitments(),
              s.envelope().toByteArray(),
              digest));
    }
    byte[] root = node.root(generation);
    try (Shamir.Recovered r =
            Shamir.reconstruct(
                stored.commitments(), shares.subList(shares.size() - threshold, shares.size()));
        SecretBytes expected = SecretBytes.copyOf(root, InsecureSecretAccess.get())) {
      assertTrue(
          r.secret().equalsSecret(expected),
          "the custodians' shares rebuild the generation's root");
    } finally {
      shares.forEach(Share::destroy);
    }
  }

  @Test
  void aRotatedGenerationIsPromotedOnlyAfterItsBackupIsPublishedExactlyAsMade() throws Exception {
    try (Node node = new Node(3, 2, true)) {
      UUID job = await(node.jobs.enqueueRootRotation(1, "operator"));
      List<StepResult> steps = await(node.worker(StepHook.NONE).runUntilIdle(10));
      assertEquals(
          List.of(
              RotationJob.State.GENERATED,
              RotationJob.State.BACKED_UP,
              RotationJob.State.BACKED_UP),
          steps.stream().map(StepResult::to).toList());
      assertEquals(RootState.STAGED, node.state(2), "not promoted while the backup is unpublished");
      assertEquals(RootState.CURRENT, node.state(1));
      assertEquals(
          List.of("generation-2"),
          node.storeEntries(),
          "visible to custodians, no staging leftovers");
      assertTrue(
          node.job(job)
              .lastError()
              .orElseThrow()
              .contains("teekms gov publish-backup --store " + node.store + " --generation 2"),
          node.job(job).lastError().toString());
      assertEquals(0, node.job(job).attempts(), "waiting is not an error");
      assertEquals(
          Optional.of("STAGED"), await(node.backups.state(postgres.sessions(node.pool), 2)));

      node.chain.publishFromStore(node.store, 2); // the registry owner: teekms gov publish-backup
      assertTrue(
          await(node.worker(StepHook.NONE).runUntilIdle(10)).isEmpty(),
          "rechecked only after the interval");
      node.clock.advance(RECHECK.plusSeconds(1));
      steps = await(node.worker(StepHook.NONE).runUntilIdle(10));
      assertEquals(RotationJob.State.PROMOTED, steps.get(0).to());
      assertEquals(RootState.CURRENT, node.state(2));
      assertEquals(
          Optional.of("PUBLISHED"), await(node.backups.state(postgres.sessions(node.pool), 2)));
      assertCustodiansRecover(node, 2, 2);
      assertTrue(await(node.audit.verify()).valid());
    }
  }

  @Test
  void anotherBackupPublishedForTheGenerationFailsTheRotationAndTheGenerationIsNeverPromoted()
      throws Exception {
    try (Node node = new Node(3, 2, true)) {
      UUID job = await(node.jobs.enqueueRootRotation(1, "operator"));
      await(node.worker(StepHook.NONE).runUntilIdle(10));
      // What the store showed was swapped before the owner published: other envelopes for the same
      // custodians.
      try (SecretBytes other =
          SecretBytes.copyOf(
              org.teekms.kms.roots.RootSecrets.draw(new SecureRandom()),
              InsecureSecretAccess.get())) {
        node.chain.publish(RootBackup.create(2, other, 2, node.chain.keys(), new SecureRandom()));
      }
      node.clock.advance(RECHECK.plusSeconds(1));
      await(node.worker(StepHook.NONE).runUntilIdle(10));
      RotationJob failed = node.job(job);
      assertEquals(RotationJob.State.FAILED, failed.state());
      assertTrue(
          failed
              .lastError()
              .orElseThrow()
              .contains("is not the one this KMS made: other commitments"),
          failed.lastError().toString());
      assertEquals(RootState.STAGED, node.state(2));
      assertEquals(RootState.CURRENT, node.state(1));
    }
  }

  @Test
  void withPublicationNotRequiredTheGenerationIsPromotedOnceItsBackupIsStored() throws Exception {
    try (Node node = new Node(4, 3, false)) {
      await(node.jobs.enqueueRootRotation(1, "operator"));
      List<StepResult> steps = await(node.worker(StepHook.NONE).runUntilIdle(10));
      assertEquals(RotationJob.State.PROMOTED, steps.get(2).to(), steps.toString());
      assertEquals(RootState.CURRENT, node.state(2));
      assertEquals(
          Optional.of("STAGED"), await(node.backups.state(postgres.sessions(node.pool), 2)));
      assertCustodiansRecover(node, 2, 3);
    }
  }

  @Test
  void tooFewCustodiansOrAnUnreadableChainKeepTheRotationRetryingWithTheReason() throws Exception {
    try (Node node = new Node(1, 2, true)) {
      UUID job = await(node.jobs.enqueueRootRotation(1, "operator"));
      retried(node);
      RotationJob waiting = node.job(job);
      assertEquals(RotationJob.State.GENERATED, waiting.state());
      assertEquals(1, waiting.attempts());
      assertTrue(
          waiting
              .lastError()
              .orElseThrow()
              .contains("1 active custodians on chain, fewer than the threshold 2"),
          waiting.lastError().toString());
      assertFalse(Files.exists(node.store.resolve("generation-2")));

      node.chain.custodians.add(org.teekms.custody.RecipientKeyPair.generate(new SecureRandom()));
      node.chain.unavailable = "no RPC endpoint answered";
      node.clock.advance(Duration.ofMinutes(11));
      retried(node);
      assertTrue(node.job(job).lastError().orElseThrow().contains("no RPC endpoint answered"));
      assertEquals(RotationJob.State.GENERATED, node.job(job).state());

      node.chain.unavailable = null;
      node.clock.advance(Duration.ofMinutes(11));
      await(node.worker(StepHook.NONE).runUntilIdle(10));
      assertEquals(RotationJob.State.BACKED_UP, node.job(job).state());
    }
  }

  /**
   * Runs steps until one fails transiently (as the scheduler's poll sees it: logged, counted,
   * retried later).
   */
  private static void retried(Node node) {
    CustodyUnavailable e =
        assertThrows(
            CustodyUnavailable.class, () -> await(node.worker(StepHook.NONE).runUntilIdle(10)));
    assertFalse(e.getMessage().isEmpty());
  }

  @Test
  void aBackupRecordEditedInTheDatabaseDoesNotAuthenticateAndFailsClosed() throws Exception {
    try (Node node = new Node(3, 2, true)) {
      UUID job = await(node.jobs.enqueueRootRotation(1, "operator"));
      await(node.worker(StepHook.NONE).runUntilIdle(10));
      // The host rewrites the record to match envelopes it made itself, and has them published.
      await(
          node.pool
              .preparedQuery("UPDATE root_backup SET envelope_digests = $2 WHERE generation = $1")
              .execute(
                  Tuple.tuple()
                      .addInteger(2)
                      .addBuffer(io.vertx.mutiny.core.buffer.Buffer.buffer(new byte[96]))));
      node.clock.advance(RECHECK.plusSeconds(1));
      await(node.worker(StepHook.NONE).runUntilIdle(10));
      RotationJob failed = node.job(job);
      assertEquals(RotationJob.State.FAILED, failed.state());
      assertTrue(
          failed.lastError().orElseThrow().contains("does not authenticate"),
          failed.lastError().toString());
      assertEquals(RootState.STAGED, node.state(2));
    }
  }

  @Test
  void aKillAtAnyStepLeavesExactlyOneBackupThatRecoversTheRoot() throws Exception {
    for (int crashAt = 1; crashAt <= 5; crashAt++) {
      try (Node node = new Node(3, 2, true)) {
        int k = crashAt;
        AtomicInteger transitions = new AtomicInteger();
        StepHook crashing =
            (jobId, from, to) -> {
              if (transitions.incrementAndGet() == k) {
                throw new RotationWorker.StepHookCrash(
                    "simulated kill -9 before commit of " + from + "->" + to);
              }
            };
        UUID job = await(node.jobs.enqueueRootRotation(1, "operator"));
        RotationWorker worker = node.worker(crashing);
        boolean crashed = false;
        for (int round = 0; round < 20 && !node.job(job).finished(); round++) {
          try {
            Optional<StepResult> r = await(worker.runOneStep());
            if (r.isPresent()
                && r.get().from() == RotationJob.State.BACKED_UP
                && r.get().to() == RotationJob.State.BACKED_UP
                && !node.chain.published.containsKey(2)) {
              node.chain.publishFromStore(node.store, 2);
            }
            if (r.isEmpty()) node.clock.advance(Duration.ofDays(2));
          } catch (RotationWorker.StepHookCrash e) {
            crashed = true;
            worker = node.worker(StepHook.NONE); // the restarted process
          }
        }
        assertTrue(crashed, "crashed at transition " + k);
        assertEquals(RotationJob.State.DONE, node.job(job).state(), "crash at " + k);
        assertEquals(List.of("generation-2"), node.storeEntries(), "crash at " + k);
        assertEquals(RootState.CURRENT, node.state(2));
        assertCustodiansRecover(node, 2, 2);
        assertTrue(await(node.audit.verify()).valid());
      }
    }
  }

  @Test
  void startupBacksUpTheCurrentGenerationAndServesOnlyOnceItIsPublished() throws Exception {
    try (Node node = new Node(3, 2, true)) {
      IllegalStateException late =
          assertThrows(
              IllegalStateException.class,
              () ->
                  node.backups
                      .backUpCurrent(
                          postgres.sessions(node.pool),
                          node.audit,
                          TestPostgres.WAIT,
                          Duration.ofMillis(300),
                          Duration.ofMillis(100))
                      .await()
                      .atMost(Duration.ofSeconds(60)));
      assertTrue(
          late.getMessage()
              .startsWith("the backup of root generation 1 was not published on chain within"),
          late.getMessage());
      // The next start waits for the same backup: nothing is split again.
      List<String> before = node.storeEntries();
      node.chain.publishFromStore(node.store, 1);
      assertEquals(
          RootBackups.Publication.PUBLISHED,
          node.backups
              .backUpCurrent(
                  postgres.sessions(node.pool),
                  node.audit,
                  TestPostgres.WAIT,
                  Duration.ofSeconds(5),
                  Duration.ofMillis(100))
              .await()
              .atMost(Duration.ofSeconds(60)));
      assertEquals(before, node.storeEntries());
      assertEquals(List.of("generation-1"), before);
      assertEquals(
          RootBackups.Publication.PUBLISHED,
          node.backups
              .backUpCurrent(
                  postgres.sessions(node.pool),
                  node.audit,
                  TestPostgres.WAIT,
                  Duration.ZERO,
                  Duration.ofMillis(100))
              .await()
              .atMost(Duration.ofSeconds(60)));
      assertCustodiansRecover(node, 1, 2);
    }
  }

  @Test
  void startupWaitForThePublicationHoldsNoThreadAndEndsWhenTheOwnerPublishes() throws Exception {
    try (Node node = new Node(3, 2, true)) {
      java.util.concurrent.CompletableFuture<RootBackups.Publication> startup =
          node.backups
              .backUpCurrent(
                  postgres.sessions(node.pool),
                  node.audit,
                  TestPostgres.WAIT,
                  Duration.ofSeconds(60),
                  Duration.ofMillis(100))
              .subscribeAsCompletionStage();
      // The wait returned this thread at once: it sees the backup staged and made visible, and
      // publishes it while
      // startup waits.
      long deadline = System.nanoTime() + TestPostgres.WAIT.toNanos();
      while (!Files.isDirectory(node.store.resolve("generation-1"))
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertEquals(
          Optional.of("STAGED"), await(node.backups.state(postgres.sessions(node.pool), 1)));
      assertFalse(startup.isDone(), "startup must wait for the publication");
      node.chain.publishFromStore(node.store, 1);
      assertEquals(
          RootBackups.Publication.PUBLISHED,
          startup.get(30, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(
          Optional.of("PUBLISHED"), await(node.backups.state(postgres.sessions(node.pool), 1)));
      assertTrue(await(node.audit.verify()).valid());
    }
  }
}
