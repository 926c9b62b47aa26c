package org.teekms.kms.db;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.teekms.keys.AppId;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.keystate.AppKeyState;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.rotation.RotationJob;
import org.teekms.kms.rotation.RotationJobs;
import org.teekms.kms.seal.SealingKey;

/**
 * The Hibernate Reactive entities of the KMS state, mapped onto the schema Flyway owns: what the
 * stores write through sessions is what the columns hold (read back with plain SQL), and the
 * database's own rules (one CURRENT generation, shredding on destruction, no copy of a destroyed
 * generation) still hold when the writes come from entities.
 */
class StateMappingTest {

  private static final long T0 = 1_767_225_600_000L;
  private static TestPostgres postgres;
  private Pool pool;
  private StateSessions sessions;
  private RootGenerationStore roots;

  @BeforeAll
  static void start() {
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stop() {
    postgres.close();
  }

  @BeforeEach
  void freshDatabase() {
    pool = postgres.pool(postgres.freshDatabase(), 2);
    sessions = postgres.sessions(pool);
    roots = new RootGenerationStore(sessions, new SealingKey(secret(7)), "kms-map", "node-a");
  }

  @AfterEach
  void close() {
    pool.closeAndAwait();
  }

  private static <T> T await(Uni<T> u) {
    return u.await().atMost(TestPostgres.WAIT);
  }

  private static byte[] secret(int fill) {
    byte[] b = new byte[32];
    java.util.Arrays.fill(b, (byte) fill);
    return b;
  }

  /** Every message along the cause chain (the database's error arrives wrapped). */
  private static String messages(Throwable t) {
    StringBuilder all = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      all.append(c.getMessage()).append(" / ");
    }
    return all.toString();
  }

  private Row row(String sql) {
    return await(pool.query(sql).execute()).iterator().next();
  }

  @Test
  void aGenerationWrittenThroughASessionIsInTheColumnsAndItsSealedCopyUnseals() {
    await(
        sessions.inTransaction(
            s -> roots.insert(s, 1, RootState.CURRENT, secret(1), T0).replaceWith(true)));

    Row g = row("SELECT * FROM root_generation WHERE generation = 1");
    assertEquals("CURRENT", g.getString("state"));
    assertEquals(roots.sealingKeyId(), g.getString("sealing_key_id"));
    assertEquals(T0, g.getLong("created_at"));
    assertNull(g.getValue("sealed_secret"), "secrets live in root_seal only");
    Row copy = row("SELECT * FROM root_seal WHERE generation = 1");
    assertEquals("node-a", copy.getString("node_id"));
    assertEquals(12 + 32 + 16, copy.getBuffer("sealed_secret").length());

    assertEquals(
        List.of(
            new RootGeneration(
                1,
                RootState.CURRENT,
                roots.sealingKeyId(),
                T0,
                Optional.empty(),
                Optional.empty(),
                Optional.empty())),
        await(roots.list()));
    assertArrayEquals(secret(1), await(roots.unseal(1)));
    assertEquals(List.of(), await(roots.missingCopies()));
  }

  @Test
  void aSecondCurrentGenerationIsRefusedUntilTheFirstIsRetiredAndFlushed() {
    await(
        sessions.inTransaction(
            s ->
                roots
                    .insert(s, 1, RootState.CURRENT, secret(1), T0)
                    .chain(() -> roots.insert(s, 2, RootState.STAGED, secret(2), T0))));

    assertThrows(
        Exception.class,
        () -> await(sessions.inTransaction(s -> roots.makeCurrent(s, 2))),
        "the unique index allows one CURRENT row");
    boolean promoted =
        await(
            sessions.inTransaction(
                s ->
                    roots
                        .retire(s, 1, T0 + 1, T0 + 100)
                        .chain(retired -> roots.makeCurrent(s, 2).map(c -> retired && c))));
    assertTrue(promoted);

    Row old = row("SELECT * FROM root_generation WHERE generation = 1");
    assertEquals("RETIRED", old.getString("state"));
    assertEquals(T0 + 1, old.getLong("retired_at"));
    assertEquals(T0 + 100, old.getLong("destroy_after"));
    assertEquals(2, await(roots.current()).orElseThrow().generation());
    boolean again = await(sessions.inTransaction(s -> roots.makeCurrent(s, 2)));
    assertFalse(again, "only a STAGED generation becomes CURRENT");
  }

  @Test
  void destroyingAGenerationThroughItsEntityShredsEveryCopyAndRefusesNewOnes() {
    await(
        sessions.inTransaction(
            s ->
                roots
                    .insert(s, 1, RootState.CURRENT, secret(1), T0)
                    .chain(() -> roots.retire(s, 1, T0, T0))));
    RootGenerationStore other =
        new RootGenerationStore(sessions, new SealingKey(secret(9)), "kms-map", "node-b");
    await(sessions.inTransaction(s -> other.addCopy(s, 1, secret(1), T0).replaceWith(true)));
    assertEquals(2L, row("SELECT count(*) FROM root_seal").getLong(0));

    boolean destroyed = await(sessions.inTransaction(s -> roots.destroy(s, 1, T0 + 5)));
    assertTrue(destroyed);

    assertEquals(0L, row("SELECT count(*) FROM root_seal").getLong(0), "every node's copy");
    assertEquals(T0 + 5, row("SELECT destroyed_at FROM root_generation").getLong(0));
    Exception refused =
        assertThrows(
            Exception.class,
            () ->
                await(
                    sessions.inTransaction(
                        s -> other.addCopy(s, 1, secret(1), T0).replaceWith(true))));
    assertTrue(
        messages(refused).contains("is destroyed: no sealed copy may be added"), messages(refused));
    Exception unseal = assertThrows(Exception.class, () -> await(roots.unseal(1)));
    assertTrue(unseal.getMessage().contains("was destroyed"), unseal.getMessage());
  }

  @Test
  void keyVersionsAreWrittenAsRowsPinnedToTheirGenerationAndReadBackByContent() {
    await(
        sessions.inTransaction(
            s -> roots.insert(s, 1, RootState.CURRENT, secret(1), T0).replaceWith(true)));
    byte[] raw = new byte[20];
    raw[19] = 5;
    AppId app = AppId.of(raw);

    AppKeyStateStore.Advance first =
        await(sessions.inTransaction(s -> AppKeyStateStore.advance(s, app, 3, 2, 1, T0)));
    assertEquals(List.of(1, 2, 3), first.createdVersions());
    AppKeyStateStore.Advance again =
        await(sessions.inTransaction(s -> AppKeyStateStore.advance(s, app, 2, 1, 1, T0 + 9)));
    assertFalse(again.changed(), "never lowered");

    Row state = row("SELECT * FROM app_key_state");
    assertArrayEquals(raw, state.getBuffer("app_id").getBytes());
    assertEquals(3, state.getInteger("current_version"));
    assertEquals(2, state.getInteger("min_version"));
    assertEquals(T0, state.getLong("last_rotated_at"));
    assertEquals(T0 + 9, state.getLong("updated_at"));
    assertEquals(
        3L, row("SELECT count(*) FROM app_key_version WHERE root_generation = 1").getLong(0));

    // A fresh array with the same bytes finds the same row (ids compare by content).
    AppKeyState read = await(AppKeyStateStore.read(sessions, AppId.of(raw.clone()))).orElseThrow();
    assertEquals(
        List.of(new AppKeyState.KeyVersion(2, 1), new AppKeyState.KeyVersion(3, 1)),
        read.servedVersions());
    assertEquals(List.of(app), await(AppKeyStateStore.apps(sessions, 10)));
    assertEquals(
        new AppKeyStateStore.Progress(1, 1), await(AppKeyStateStore.progress(sessions, 1)));
  }

  @Test
  void anAppsStateIsReadWithOnlyItsOwnVersionsInOrderAndAgreesWithTheLockedRead() {
    await(
        sessions.inTransaction(
            s -> roots.insert(s, 1, RootState.CURRENT, secret(1), T0).replaceWith(true)));
    AppId app = AppId.of(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6});
    AppId other = AppId.of(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7});
    await(sessions.inTransaction(s -> AppKeyStateStore.advance(s, other, 2, 1, 1, T0 + 1)));
    await(sessions.inTransaction(s -> AppKeyStateStore.advance(s, app, 4, 3, 1, T0)));

    AppKeyState read = await(AppKeyStateStore.read(sessions, app)).orElseThrow();
    assertEquals(
        new AppKeyState(
            app,
            4,
            3,
            T0,
            List.of(
                new AppKeyState.KeyVersion(1, 1),
                new AppKeyState.KeyVersion(2, 1),
                new AppKeyState.KeyVersion(3, 1),
                new AppKeyState.KeyVersion(4, 1))),
        read);
    assertEquals(
        read,
        await(sessions.inTransaction(s -> AppKeyStateStore.readForUpdate(s, app))).orElseThrow());
    AppId unknown = AppId.of(new byte[20]);
    assertEquals(Optional.empty(), await(AppKeyStateStore.read(sessions, unknown)));
  }

  @Test
  void rotationJobsAreDeduplicatedAndMappedBackWithEveryColumn() {
    Clock clock = Clock.fixed(Instant.ofEpochMilli(T0), ZoneOffset.UTC);
    RotationJobs jobs = new RotationJobs(sessions, clock);
    byte[] raw = new byte[20];
    raw[0] = 1;
    UUID id = await(jobs.enqueueAppRotation(AppId.of(raw), 4, 2, "owner bumped"));
    assertEquals(id, await(jobs.enqueueAppRotation(AppId.of(raw), 4, 2, "asked again")));
    UUID root = await(jobs.enqueueRootRotation(1, "operator"));

    RotationJob job = await(jobs.get(id)).orElseThrow();
    assertEquals(RotationJob.Kind.APP_ROTATION, job.kind());
    assertEquals(Optional.of(AppId.of(raw)), job.appId());
    assertEquals(Optional.of(4), job.targetVersion());
    assertEquals(Optional.of(2), job.targetMinVersion());
    assertEquals(RotationJob.State.PENDING, job.state());
    assertEquals("owner bumped", job.reason());
    assertEquals(T0, job.notBefore());
    assertEquals(Optional.of(1), await(jobs.get(root)).orElseThrow().fromGeneration());
    assertEquals(2, await(jobs.unfinished(null)).size());
    assertEquals(
        List.of(id),
        await(jobs.unfinished(AppId.of(raw))).stream().map(RotationJob::jobId).toList());
    assertEquals(Optional.empty(), await(jobs.get(UUID.randomUUID())));
  }
}
