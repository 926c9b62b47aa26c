package org.teekms.kms.rotation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.kms.MutableClock;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.audit.ChainVerification;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.keystate.AppKeyState;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.seal.SealingKey;

/**
 * Rotation jobs on a real PostgreSQL: results, idempotence, crash at every step, two workers on one
 * database.
 */
class RotationWorkerTest {

  private static final Duration GRACE = Duration.ofDays(7);
  private static final long T0 = 1_767_225_600_000L;
  private static TestPostgres postgres;

  @BeforeAll
  static void start() {
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stop() {
    postgres.close();
  }

  /** One replica's view of a database: its pool and its components. */
  private static final class Node implements AutoCloseable {
    final Pool pool;
    final MutableClock clock;
    final AuditLog audit;
    final RootGenerationStore roots;
    final RotationJobs jobs;

    Node(DatabaseCoordinates db, MutableClock clock, SealingKey key) {
      this.pool = postgres.pool(db, 4);
      this.clock = clock;
      this.audit = new AuditLog(pool, postgres.sessions(pool), clock);
      this.roots = new RootGenerationStore(postgres.sessions(pool), key, "kms-test");
      this.jobs = new RotationJobs(postgres.sessions(pool), clock);
    }

    RotationWorker worker(StepHook hook) {
      return new RotationWorker(postgres.sessions(pool), roots, audit, clock, GRACE, 2, hook);
    }

    @Override
    public void close() {
      pool.closeAndAwait();
    }
  }

  private static SealingKey key() {
    return new SealingKey(new byte[32]);
  }

  private static org.teekms.keys.AppId app(int n) {
    byte[] a = new byte[20];
    a[0] = (byte) 0xa0;
    a[19] = (byte) n;
    return org.teekms.keys.AppId.of(a);
  }

  private static <T> T await(Uni<T> u) {
    return u.await().atMost(TestPostgres.WAIT);
  }

  private static Node bootstrappedNode(MutableClock clock) {
    Node node = new Node(postgres.freshDatabase(), clock, key());
    assertTrue(
        await(
            RootBootstrap.ensureBootstrapped(
                postgres.sessions(node.pool), node.roots, node.audit, clock)));
    assertFalse(
        await(
            RootBootstrap.ensureBootstrapped(
                postgres.sessions(node.pool), node.roots, node.audit, clock)));
    return node;
  }

  @Test
  void appRotationCreatesEveryVersionAndRaisesTheMinimum() {
    try (Node node = bootstrappedNode(new MutableClock(T0))) {
      UUID job = await(node.jobs.enqueueAppRotation(app(1), 3, 2, "owner bumped to 3"));
      assertEquals(
          job, await(node.jobs.enqueueAppRotation(app(1), 3, 2, "asked again")), "deduplicated");
      List<StepResult> steps = await(node.worker(StepHook.NONE).runUntilIdle(10));
      assertEquals(1, steps.size());
      AppKeyState s =
          await(AppKeyStateStore.read(postgres.sessions(node.pool), app(1))).orElseThrow();
      assertEquals(3, s.currentVersion());
      assertEquals(2, s.minVersion());
      assertEquals(
          List.of(
              new AppKeyState.KeyVersion(1, 1),
              new AppKeyState.KeyVersion(2, 1),
              new AppKeyState.KeyVersion(3, 1)),
          s.versions());
      assertEquals(
          List.of(2, 3), s.servedVersions().stream().map(AppKeyState.KeyVersion::version).toList());
      assertEquals(RotationJob.State.DONE, await(node.jobs.get(job)).orElseThrow().state());

      // A target below the present state changes nothing; versions never go backwards.
      await(node.jobs.enqueueAppRotation(app(1), 2, 1, "stale request"));
      await(node.worker(StepHook.NONE).runUntilIdle(10));
      AppKeyState again =
          await(AppKeyStateStore.read(postgres.sessions(node.pool), app(1))).orElseThrow();
      assertEquals(3, again.currentVersion());
      assertEquals(2, again.minVersion());
      assertTrue(await(node.audit.verify()).valid());
    }
  }

  @Test
  void rootRotationMovesAppsThenDestroysTheOldGenerationAfterGrace() {
    MutableClock clock = new MutableClock(T0);
    try (Node node = bootstrappedNode(clock)) {
      seedApps(node, 5);
      byte[] gen1Secret = await(node.roots.unseal(1));
      await(node.jobs.enqueueRootRotation(1, "operator"));
      List<StepResult> steps = await(node.worker(StepHook.NONE).runUntilIdle(50));
      // PENDING->GENERATED, GENERATED->PROMOTED, 3 batches of <=2 apps, then PROMOTED->APPS_MOVED;
      // destruction waits.
      assertEquals(
          List.of("GENERATED", "PROMOTED", "PROMOTED", "PROMOTED", "PROMOTED", "APPS_MOVED"),
          steps.stream().map(s -> s.to().name()).toList());
      assertEquals(RootState.RETIRED, generation(node, 1).state());
      assertArrayEquals(
          gen1Secret,
          await(node.roots.unseal(1)),
          "retired generation still derives until destroyed");
      for (int i = 1; i <= 5; i++) {
        AppKeyState s =
            await(AppKeyStateStore.read(postgres.sessions(node.pool), app(i))).orElseThrow();
        assertEquals(2, s.version(s.currentVersion()).orElseThrow().rootGeneration());
        assertEquals(
            1,
            s.version(s.currentVersion() - 1).orElseThrow().rootGeneration(),
            "old version keeps its generation");
      }
      clock.advance(GRACE.plusSeconds(1));
      List<StepResult> rest = await(node.worker(StepHook.NONE).runUntilIdle(50));
      assertEquals(List.of("DONE"), rest.stream().map(s -> s.to().name()).toList());
      assertEquals(RootState.DESTROYED, generation(node, 1).state());
      assertEquals(RootState.CURRENT, generation(node, 2).state());
      assertThrows(Exception.class, () -> await(node.roots.unseal(1)));
      assertTrue(await(node.audit.verify()).valid());
    }
  }

  @Test
  void crashAtEveryStepThenRestartReachesTheSameFinalState() {
    // Reference run without crashes.
    MutableClock refClock = new MutableClock(T0);
    String reference;
    long referenceAuditEntries;
    AtomicInteger referenceTransitions = new AtomicInteger();
    try (Node node = bootstrappedNode(refClock)) {
      reference =
          runScenario(node, (jobId, from, to) -> referenceTransitions.incrementAndGet(), null);
      referenceAuditEntries = await(node.audit.verify()).entriesChecked();
    }
    // Crash before the commit of the k-th transition, for every k, then restart a fresh worker (a
    // new "process").
    // app DONE, GENERATED, PROMOTED, two app batches, APPS_MOVED, DONE
    assertEquals(7, referenceTransitions.get());
    for (int k = 1; k <= referenceTransitions.get(); k++) {
      int crashAt = k;
      AtomicInteger transitions = new AtomicInteger();
      StepHook crashing =
          (jobId, from, to) -> {
            if (transitions.incrementAndGet() == crashAt) {
              throw new RotationWorker.StepHookCrash(
                  "simulated kill -9 before commit of " + from + "->" + to);
            }
          };
      try (Node node = bootstrappedNode(new MutableClock(T0))) {
        String state = runScenario(node, crashing, crashAt);
        assertEquals(reference, state, "final state after a crash at transition " + k);
        ChainVerification v = await(node.audit.verify());
        assertTrue(v.valid(), v.problem());
        assertEquals(
            referenceAuditEntries,
            v.entriesChecked(),
            "no step applied twice (crash at " + k + ")");
      }
    }
  }

  /**
   * Two app rotations and a root rotation over 3 apps, run to completion (past the grace period). A
   * worker that crashes is replaced by a new one, as a restarted process would be. Returns a
   * canonical picture of the state.
   */
  private String runScenario(Node node, StepHook hook, Integer expectCrash) {
    seedApps(node, 3);
    await(node.jobs.enqueueAppRotation(app(1), 4, 2, "owner bumped"));
    node.clock.advance(Duration.ofMillis(1)); // jobs run in creation order: make it deterministic
    await(node.jobs.enqueueRootRotation(1, "operator"));
    boolean crashed = false;
    RotationWorker worker = node.worker(hook);
    for (int round = 0; round < 40; round++) {
      try {
        if (await(worker.runOneStep()).isEmpty()) {
          if (node.clock.millis() < T0 + GRACE.toMillis() * 2) {
            node.clock.advance(GRACE.plusSeconds(1));
            continue;
          }
          break;
        }
      } catch (RotationWorker.StepHookCrash crash) {
        crashed = true;
        worker = node.worker(StepHook.NONE);
      }
    }
    if (expectCrash != null) {
      assertTrue(crashed, "the hook crashed at transition " + expectCrash);
    }
    return describe(node);
  }

  private static void seedApps(Node node, int n) {
    for (int i = 1; i <= n; i++) {
      org.teekms.keys.AppId a = app(i);
      int v = i;
      await(
          postgres
              .sessions(node.pool)
              .inTransaction(tx -> AppKeyStateStore.advance(tx, a, v, 1, 1, T0)));
    }
  }

  private static String describe(Node node) {
    Map<String, Object> picture = new TreeMap<>();
    for (RootGeneration g : await(node.roots.list())) {
      picture.put("gen" + g.generation(), g.state());
    }
    for (int i = 1; i <= 3; i++) {
      AppKeyState s =
          await(AppKeyStateStore.read(postgres.sessions(node.pool), app(i))).orElseThrow();
      picture.put("app" + i, s.currentVersion() + "/" + s.minVersion() + " " + s.versions());
    }
    List<String> jobs = new ArrayList<>();
    for (RotationJob j : await(node.jobs.all())) {
      jobs.add(j.dedupeKey() + "=" + j.state());
    }
    picture.put("jobs", jobs);
    return picture.toString();
  }

  private static RootGeneration generation(Node node, int n) {
    return await(node.roots.list()).stream()
        .filter(g -> g.generation() == n)
        .findFirst()
        .orElseThrow();
  }

  @Test
  void twoWorkersOnOneDatabaseRunEachStepOnce() {
    MutableClock clock = new MutableClock(T0);
    DatabaseCoordinates db = postgres.freshDatabase();
    try (Node a = new Node(db, clock, key());
        Node b = new Node(db, clock, key())) {
      // Both replicas try to bootstrap at once: exactly one generation 1.
      List<Boolean> boots =
          await(
              Uni.join()
                  .all(
                      RootBootstrap.ensureBootstrapped(
                          postgres.sessions(a.pool), a.roots, a.audit, clock),
                      RootBootstrap.ensureBootstrapped(
                          postgres.sessions(b.pool), b.roots, b.audit, clock))
                  .andFailFast());
      assertEquals(1, boots.stream().filter(x -> x).count());
      int apps = 12;
      seedApps(a, apps);
      for (int i = 1; i <= apps; i++) {
        // Both replicas enqueue the same rotations: deduplicated to one job each.
        UUID j1 = await(a.jobs.enqueueAppRotation(app(i), i + 2, 1, "period passed"));
        UUID j2 = await(b.jobs.enqueueAppRotation(app(i), i + 2, 1, "period passed"));
        assertEquals(j1, j2);
      }
      await(b.jobs.enqueueRootRotation(1, "operator"));
      List<List<StepResult>> runs =
          await(
              Uni.join()
                  .all(
                      a.worker(StepHook.NONE).runUntilIdle(200),
                      b.worker(StepHook.NONE).runUntilIdle(200))
                  .andFailFast());
      List<StepResult> all = new ArrayList<>(runs.get(0));
      all.addAll(runs.get(1));
      // Every (job, transition) happened once across both workers; app batches moved each app once.
      List<StepResult> transitions = all.stream().filter(s -> s.from() != s.to()).toList();
      assertEquals(
          transitions.size(),
          transitions.stream()
              .map(s -> s.jobId() + ":" + s.from() + "->" + s.to())
              .distinct()
              .count());
      int movedApps =
          all.stream()
              .filter(
                  s ->
                      s.from() == RotationJob.State.PROMOTED
                          && s.to() == RotationJob.State.PROMOTED)
              .mapToInt(s -> Integer.parseInt(s.summary().split(" ")[1]))
              .sum();
      // An app rotation that ran after the promotion already pinned its new versions to generation
      // 2, so that app
      // needed no move. Each app is moved at most once, and the audit log holds exactly one entry
      // per move.
      int auditedMoves = 0;
      for (int i = 1; i <= apps; i++) {
        long moves =
            await(a.audit.list(app(i), 0, Long.MAX_VALUE, 0, 1000)).stream()
                .filter(e -> e.detailJson().contains("root generation rotation"))
                .count();
        assertTrue(moves <= 1, "app " + i + " moved " + moves + " times");
        auditedMoves += (int) moves;
        int current =
            await(AppKeyStateStore.read(postgres.sessions(a.pool), app(i)))
                .orElseThrow()
                .currentVersion();
        assertTrue(current == i + 2 || current == i + 3, "app " + i + " at version " + current);
      }
      assertEquals(movedApps, auditedMoves);
      long appJobsDone =
          all.stream().filter(s -> s.kind() == RotationJob.Kind.APP_ROTATION).count();
      assertEquals(apps, appJobsDone);
      long generated = all.stream().filter(s -> s.to() == RotationJob.State.GENERATED).count();
      assertEquals(1, generated);
      assertEquals(2, await(a.roots.list()).size(), "exactly one new generation");
      for (int i = 1; i <= apps; i++) {
        AppKeyState s =
            await(AppKeyStateStore.read(postgres.sessions(a.pool), app(i))).orElseThrow();
        for (int v = 1; v <= s.currentVersion(); v++) {
          assertTrue(s.version(v).isPresent(), "no version skipped");
        }
        assertEquals(2, s.version(s.currentVersion()).orElseThrow().rootGeneration());
      }
      ChainVerification v = await(a.audit.verify());
      assertTrue(v.valid(), v.problem());
    }
  }

  @Test
  void rootRotationFromAStaleGenerationFailsWithoutEffect() {
    try (Node node = bootstrappedNode(new MutableClock(T0))) {
      UUID job = await(node.jobs.enqueueRootRotation(7, "wrong generation"));
      List<StepResult> steps = await(node.worker(StepHook.NONE).runUntilIdle(5));
      assertEquals(RotationJob.State.FAILED, steps.get(0).to());
      RotationJob stored = await(node.jobs.get(job)).orElseThrow();
      assertEquals(RotationJob.State.FAILED, stored.state());
      assertTrue(
          stored.lastError().orElseThrow().contains("CURRENT root generation is 1"),
          stored.lastError().get());
      assertEquals(1, await(node.roots.list()).size());
      assertEquals(Optional.empty(), await(node.worker(StepHook.NONE).runOneStep()));
    }
  }
}
