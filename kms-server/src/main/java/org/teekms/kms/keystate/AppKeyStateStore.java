package org.teekms.kms.keystate;

import io.smallrye.mutiny.Uni;
import jakarta.persistence.LockModeType;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.hibernate.reactive.mutiny.Mutiny;
import org.teekms.keys.AppId;
import org.teekms.kms.db.StateSessions;

/**
 * Per-app key-version state in PostgreSQL ({@link AppKeyStateRecord}, {@link AppKeyVersionRecord}
 * through Hibernate Reactive). Versions only move forward: {@link #advance} creates every version
 * between the current one and the target (none skipped), pins each new version to the CURRENT root
 * generation, and raises the minimum; it never lowers either. Idempotent: advancing to where the
 * app already is changes nothing. (The chain's record of an app's versions is {@code
 * org.teekms.governance.AppKeyVersions}; this store follows it.)
 */
public final class AppKeyStateStore {

  /**
   * Most versions one advance may create: a policy asking for more is refused rather than looping
   * for hours.
   */
  public static final int MAX_VERSIONS_PER_ADVANCE = 1000;

  private AppKeyStateStore() {}

  /** Reads the app's state in a session of its own. */
  public static Uni<Optional<AppKeyState>> read(StateSessions sessions, AppId appId) {
    return sessions.read(session -> read(session, appId));
  }

  /**
   * Reads the app's state in {@code session} (no lock): the state and its versions in one
   * statement, so one snapshot and one round trip (every admission reads it).
   */
  public static Uni<Optional<AppKeyState>> read(Mutiny.Session session, AppId appId) {
    return session
        .createSelectionQuery(
            "select s.currentVersion, s.minVersion, s.lastRotatedAt, v.version, v.rootGeneration "
                + "from AppKeyStateRecord s left join AppKeyVersionRecord v on v.appId = s.appId "
                + "where s.appId = :app order by v.version",
            Object[].class)
        .setParameter("app", appId.toBytes())
        .getResultList()
        .map(
            rows -> {
              if (rows.isEmpty()) {
                return Optional.<AppKeyState>empty();
              }
              Object[] first = rows.get(0);
              List<AppKeyState.KeyVersion> versions =
                  rows.stream()
                      .filter(r -> r[3] != null) // an app without versions joins one null row
                      .map(r -> new AppKeyState.KeyVersion((Integer) r[3], (Integer) r[4]))
                      .toList();
              return Optional.of(
                  new AppKeyState(
                      appId, (Integer) first[0], (Integer) first[1], (Long) first[2], versions));
            });
  }

  /** Reads and row-locks the app's state for the rest of the session's transaction. */
  public static Uni<Optional<AppKeyState>> readForUpdate(Mutiny.Session session, AppId appId) {
    return session
        .find(AppKeyStateRecord.class, appId.toBytes(), LockModeType.PESSIMISTIC_WRITE)
        .chain(
            s -> {
              if (s == null) {
                return Uni.createFrom().item(Optional.<AppKeyState>empty());
              }
              return versions(session, appId)
                  .map(
                      versions ->
                          Optional.of(
                              new AppKeyState(
                                  appId,
                                  s.currentVersion(),
                                  s.minVersion(),
                                  s.lastRotatedAt(),
                                  versions)));
            });
  }

  private static Uni<List<AppKeyState.KeyVersion>> versions(Mutiny.Session session, AppId appId) {
    return session
        .createSelectionQuery(
            "from AppKeyVersionRecord v where v.appId = :app order by v.version",
            AppKeyVersionRecord.class)
        .setParameter("app", appId.toBytes())
        .getResultList()
        .map(
            rows ->
                rows.stream()
                    .map(v -> new AppKeyState.KeyVersion(v.version(), v.rootGeneration()))
                    .toList());
  }

  /** What {@link #advance} did. */
  public record Advance(AppKeyState before, AppKeyState after, List<Integer> createdVersions) {
    public boolean changed() {
      return !createdVersions.isEmpty()
          || before == null
          || before.minVersion() != after.minVersion();
    }
  }

  /**
   * Moves the app to at least {@code targetCurrent} / {@code targetMin} within the session's
   * transaction (row-locked). New versions are pinned to {@code rootGeneration}. A target below the
   * present state is not an error: the state stays. The rows are flushed before this completes.
   */
  public static Uni<Advance> advance(
      Mutiny.Session session,
      AppId appId,
      int targetCurrent,
      int targetMin,
      int rootGeneration,
      long now) {
    if (targetCurrent < 1 || targetMin < 1) {
      throw new IllegalArgumentException("key versions start at 1");
    }
    byte[] id = appId.toBytes();
    return session
        .find(AppKeyStateRecord.class, id, LockModeType.PESSIMISTIC_WRITE)
        .chain(
            record -> {
              if (record == null) {
                return first(session, appId, targetCurrent, targetMin, rootGeneration, now);
              }
              return versions(session, appId)
                  .chain(
                      versions -> {
                        AppKeyState before =
                            new AppKeyState(
                                appId,
                                record.currentVersion(),
                                record.minVersion(),
                                record.lastRotatedAt(),
                                versions);
                        int newCurrent = Math.max(before.currentVersion(), targetCurrent);
                        int newMin = Math.min(newCurrent, Math.max(before.minVersion(), targetMin));
                        List<Integer> created = toCreate(before.currentVersion(), newCurrent);
                        record.advance(newCurrent, newMin, now, !created.isEmpty());
                        return insertVersions(session, appId, created, rootGeneration, now)
                            .map(
                                v ->
                                    new Advance(
                                        before,
                                        after(appId, record, versions, created, rootGeneration),
                                        created));
                      });
            });
  }

  /**
   * The app's first state. Two first admissions of one app may race here: ON CONFLICT waits for the
   * other insert; if that one won, this advance starts over on the row it created (now locked FOR
   * UPDATE), instead of failing on the primary key.
   */
  private static Uni<Advance> first(
      Mutiny.Session session,
      AppId appId,
      int targetCurrent,
      int targetMin,
      int rootGeneration,
      long now) {
    int newMin = Math.min(targetCurrent, Math.max(1, targetMin));
    List<Integer> created = toCreate(0, targetCurrent);
    byte[] id = appId.toBytes();
    return session
        .createNativeQuery(
            "INSERT INTO app_key_state (app_id, current_version, min_version, last_rotated_at, "
                + "updated_at) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (app_id) DO NOTHING")
        .setParameter(1, id)
        .setParameter(2, targetCurrent)
        .setParameter(3, newMin)
        .setParameter(4, now)
        .executeUpdate()
        .chain(
            inserted -> {
              if (inserted == 0) {
                return advance(session, appId, targetCurrent, targetMin, rootGeneration, now);
              }
              return insertVersions(session, appId, created, rootGeneration, now)
                  .map(
                      v ->
                          new Advance(
                              null,
                              new AppKeyState(
                                  appId,
                                  targetCurrent,
                                  newMin,
                                  now,
                                  created.stream()
                                      .map(c -> new AppKeyState.KeyVersion(c, rootGeneration))
                                      .toList()),
                              created));
            });
  }

  private static List<Integer> toCreate(int fromCurrent, int newCurrent) {
    if (newCurrent - fromCurrent > MAX_VERSIONS_PER_ADVANCE) {
      throw new IllegalArgumentException(
          "refusing to create "
              + (newCurrent - fromCurrent)
              + " key versions at once (from "
              + fromCurrent
              + " to "
              + newCurrent
              + "; limit "
              + MAX_VERSIONS_PER_ADVANCE
              + ")");
    }
    List<Integer> created = new ArrayList<>();
    for (int v = fromCurrent + 1; v <= newCurrent; v++) {
      created.add(v);
    }
    return created;
  }

  private static AppKeyState after(
      AppId appId,
      AppKeyStateRecord record,
      List<AppKeyState.KeyVersion> versions,
      List<Integer> created,
      int rootGeneration) {
    List<AppKeyState.KeyVersion> all = new ArrayList<>(versions);
    created.forEach(v -> all.add(new AppKeyState.KeyVersion(v, rootGeneration)));
    return new AppKeyState(
        appId, record.currentVersion(), record.minVersion(), record.lastRotatedAt(), all);
  }

  /** Persists the new versions and flushes them with the state row's change. */
  private static Uni<Void> insertVersions(
      Mutiny.Session session, AppId appId, List<Integer> created, int rootGeneration, long now) {
    Object[] rows =
        created.stream().map(v -> new AppKeyVersionRecord(appId, v, rootGeneration, now)).toArray();
    return session.persistAll(rows).chain(session::flush);
  }

  /** An app whose current version is pinned to another generation than a rotation's target. */
  public record Behind(AppId appId, int currentVersion, int minVersion) {}

  /**
   * Up to {@code limit} apps whose current version is not on {@code generation}, by app id, their
   * state rows locked for the rest of the transaction ({@code FOR UPDATE OF}: explicit SQL, a join
   * that locks one side only).
   */
  public static Uni<List<Behind>> lockAppsNotOn(Mutiny.Session session, int generation, int limit) {
    return session
        .createNativeQuery(
            "SELECT s.app_id, s.current_version, s.min_version FROM app_key_state s "
                + "JOIN app_key_version v ON v.app_id = s.app_id AND v.version = s.current_version "
                + "WHERE v.root_generation <> ?1 ORDER BY s.app_id LIMIT ?2 FOR UPDATE OF s",
            Object[].class)
        .setParameter(1, generation)
        .setParameter(2, limit)
        .getResultList()
        .map(
            rows ->
                rows.stream()
                    .map(
                        r ->
                            new Behind(
                                AppId.of((byte[]) r[0]),
                                ((Number) r[1]).intValue(),
                                ((Number) r[2]).intValue()))
                    .toList());
  }

  /**
   * How many apps have key state, and how many of them have their current version on a generation.
   */
  public record Progress(int total, int onGeneration) {}

  /** Counts apps and those whose current version is pinned to {@code generation}. */
  public static Uni<Progress> progress(StateSessions sessions, int generation) {
    return sessions.read(
        session ->
            session
                .createSelectionQuery(
                    "select count(*), coalesce(sum(case when v.rootGeneration = :g then 1 else 0 end), 0) "
                        + "from AppKeyStateRecord s join AppKeyVersionRecord v "
                        + "on v.appId = s.appId and v.version = s.currentVersion",
                    Object[].class)
                .setParameter("g", generation)
                .getSingleResult()
                .map(r -> new Progress(((Number) r[0]).intValue(), ((Number) r[1]).intValue())));
  }

  /** The ids of apps with key state, ascending, at most {@code limit}. */
  public static Uni<List<AppId>> apps(StateSessions sessions, int limit) {
    return sessions.read(
        session ->
            session
                .createSelectionQuery(
                    "select s.appId from AppKeyStateRecord s order by s.appId", byte[].class)
                .setMaxResults(limit)
                .getResultList()
                .map(ids -> ids.stream().map(AppId::of).toList()));
  }
}
