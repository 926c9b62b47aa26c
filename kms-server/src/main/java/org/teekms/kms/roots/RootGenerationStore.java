package org.teekms.kms.roots;

import io.smallrye.mutiny.Uni;
import jakarta.persistence.LockModeType;
import java.util.List;
import java.util.Optional;
import org.hibernate.reactive.mutiny.Mutiny;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.seal.SealingException;
import org.teekms.kms.seal.SealingKey;

/**
 * Sealed root generations in PostgreSQL, through Hibernate Reactive. The public facts live in
 * {@code root_generation} ({@link RootGenerationRecord}); the secret lives in {@code root_seal}
 * ({@link RootSealRecord}), one copy per sealing key ({@link RootSealing}), so replicas with
 * different sealing keys share one database. Secrets go in sealed and come out only through {@link
 * #unseal}; callers zero the returned array. Methods that take a session run in the caller's unit
 * of work (and transaction); the others open a session of their own.
 */
public final class RootGenerationStore {

  private static final List<RootState> LIVE = List.of(RootState.CURRENT, RootState.RETIRED);

  private final StateSessions sessions;
  private final SealingKey sealingKey;
  private final String kmsId;
  private final String nodeId;

  public RootGenerationStore(StateSessions sessions, SealingKey sealingKey, String kmsId) {
    this(sessions, sealingKey, kmsId, null);
  }

  /** {@code nodeId} (may be null) is recorded with the copies this node writes, for operators. */
  public RootGenerationStore(
      StateSessions sessions, SealingKey sealingKey, String kmsId, String nodeId) {
    this.sessions = sessions;
    this.sealingKey = sealingKey;
    this.kmsId = kmsId;
    this.nodeId = nodeId;
  }

  public String kmsId() {
    return kmsId;
  }

  /** The id of this node's sealing key (names its copies). */
  public String sealingKeyId() {
    return sealingKey.keyId();
  }

  /**
   * Inserts a generation and this node's sealed copy of its secret in the session's transaction;
   * both rows are written (flushed) when this completes.
   */
  public Uni<Void> insert(
      Mutiny.Session session, int generation, RootState state, byte[] rootSecret, long now) {
    if (state == RootState.DESTROYED) {
      throw new IllegalArgumentException("cannot insert a destroyed generation");
    }
    byte[] sealed = RootSealing.seal(sealingKey, kmsId, generation, rootSecret);
    return session
        .persist(new RootGenerationRecord(generation, state, sealingKey.keyId(), now))
        .chain(session::flush)
        .chain(() -> insertCopy(session, generation, sealed, now));
  }

  /**
   * Adds this node's sealed copy of an existing generation (obtained by onboarding from a peer).
   * Idempotent: a copy under this key that is already there is kept. Fails if the generation is
   * missing or destroyed (foreign key and trigger).
   */
  public Uni<Void> addCopy(Mutiny.Session session, int generation, byte[] rootSecret, long now) {
    byte[] sealed = RootSealing.seal(sealingKey, kmsId, generation, rootSecret);
    return insertCopy(session, generation, sealed, now);
  }

  private Uni<Void> insertCopy(Mutiny.Session session, int generation, byte[] sealed, long now) {
    return session
        .createNativeQuery(
            "INSERT INTO root_seal (generation, sealing_key_id, node_id, sealed_secret, created_at) "
                + "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (generation, sealing_key_id) DO NOTHING")
        .setParameter(1, generation)
        .setParameter(2, sealingKey.keyId())
        .setParameter(3, nodeId)
        .setParameter(4, sealed)
        .setParameter(5, now)
        .executeUpdate()
        .replaceWithVoid();
  }

  /** Every generation, ascending. */
  public Uni<List<RootGeneration>> list(Mutiny.Session session) {
    return session
        .createSelectionQuery(
            "from RootGenerationRecord g order by g.generation", RootGenerationRecord.class)
        .getResultList()
        .map(rows -> rows.stream().map(RootGenerationRecord::toGeneration).toList());
  }

  public Uni<List<RootGeneration>> list() {
    return sessions.read(this::list);
  }

  /** How many generations the database holds (0 before bootstrap or onboarding). */
  public Uni<Long> count(Mutiny.Session session) {
    return session
        .createSelectionQuery("select count(*) from RootGenerationRecord", Long.class)
        .getSingleResult();
  }

  /** The CURRENT generation, or empty before bootstrap. */
  public Uni<Optional<RootGeneration>> current(Mutiny.Session session) {
    return list(session)
        .map(all -> all.stream().filter(g -> g.state() == RootState.CURRENT).findFirst());
  }

  public Uni<Optional<RootGeneration>> current() {
    return sessions.read(this::current);
  }

  /** Reads and row-locks one generation for the rest of the session's transaction. */
  public Uni<Optional<RootGeneration>> lock(Mutiny.Session session, int generation) {
    return locked(session, generation)
        .map(g -> Optional.ofNullable(g).map(RootGenerationRecord::toGeneration));
  }

  private Uni<RootGenerationRecord> locked(Mutiny.Session session, int generation) {
    return session.find(RootGenerationRecord.class, generation, LockModeType.PESSIMISTIC_WRITE);
  }

  /**
   * CURRENT → RETIRED with its destruction date; false (nothing changed) if {@code generation} is
   * not CURRENT. Flushed at once, so that another generation may become CURRENT next in the same
   * transaction (at most one CURRENT row, by a unique index checked per statement).
   */
  public Uni<Boolean> retire(Mutiny.Session session, int generation, long now, long destroyAfter) {
    return locked(session, generation)
        .chain(
            g -> {
              if (g == null || g.state() != RootState.CURRENT) {
                return Uni.createFrom().item(false);
              }
              g.retire(now, destroyAfter);
              return session.flush().replaceWith(true);
            });
  }

  /** STAGED → CURRENT; false (nothing changed) if {@code generation} is not STAGED. Flushed. */
  public Uni<Boolean> makeCurrent(Mutiny.Session session, int generation) {
    return locked(session, generation)
        .chain(
            g -> {
              if (g == null || g.state() != RootState.STAGED) {
                return Uni.createFrom().item(false);
              }
              g.makeCurrent();
              return session.flush().replaceWith(true);
            });
  }

  /**
   * RETIRED → DESTROYED; false (nothing changed) if {@code generation} is not RETIRED. Flushed: the
   * database's trigger deletes every node's sealed copy in the same transaction.
   */
  public Uni<Boolean> destroy(Mutiny.Session session, int generation, long now) {
    return locked(session, generation)
        .chain(
            g -> {
              if (g == null || g.state() != RootState.RETIRED) {
                return Uni.createFrom().item(false);
              }
              g.destroy(now);
              return session.flush().replaceWith(true);
            });
  }

  /** Records the destruction date of a generation that arrived RETIRED (onboarding). Flushed. */
  public Uni<Void> setDestroyAfter(Mutiny.Session session, int generation, long destroyAfter) {
    return locked(session, generation)
        .chain(
            g -> {
              if (g == null) {
                return Uni.createFrom()
                    .failure(
                        new IllegalStateException(
                            "root generation " + generation + " does not exist"));
              }
              g.destroyAfter(destroyAfter);
              return session.flush();
            });
  }

  /**
   * Live (CURRENT or RETIRED) generations that have no copy under this node's sealing key,
   * ascending.
   */
  public Uni<List<Integer>> missingCopies(Mutiny.Session session) {
    return session
        .createSelectionQuery(
            "select g.generation from RootGenerationRecord g where g.state in :live "
                + "and not exists (select 1 from RootSealRecord s "
                + "where s.generation = g.generation and s.sealingKeyId = :key) "
                + "order by g.generation",
            Integer.class)
        .setParameter("live", LIVE)
        .setParameter("key", sealingKey.keyId())
        .getResultList();
  }

  public Uni<List<Integer>> missingCopies() {
    return sessions.read(this::missingCopies);
  }

  /** The sealed copies held per node and sealing key (for operators: which replicas hold what). */
  public record CopyHolder(String nodeId, String sealingKeyId, int copies, long lastSealedAt) {}

  public Uni<List<CopyHolder>> copyHolders() {
    return sessions.read(
        session ->
            session
                .createSelectionQuery(
                    "select s.nodeId, s.sealingKeyId, count(*), max(s.createdAt) "
                        + "from RootSealRecord s group by s.nodeId, s.sealingKeyId "
                        + "order by s.nodeId nulls first, s.sealingKeyId",
                    Object[].class)
                .getResultList()
                .map(
                    rows ->
                        rows.stream()
                            .map(
                                r ->
                                    new CopyHolder(
                                        (String) r[0],
                                        (String) r[1],
                                        ((Number) r[2]).intValue(),
                                        ((Number) r[3]).longValue()))
                            .toList()));
  }

  /**
   * Unseals this node's copy of one generation's secret. Fails with a precise message if the
   * generation is destroyed or missing, if this node's sealing key has no copy (naming the keys
   * that have one), or if the copy does not authenticate.
   */
  public Uni<byte[]> unseal(Mutiny.Session session, int generation) {
    return session
        .find(RootGenerationRecord.class, generation)
        .chain(
            g -> {
              if (g == null) {
                throw new SealingException("root generation " + generation + " does not exist");
              }
              if (g.state() == RootState.DESTROYED) {
                throw new SealingException("root generation " + generation + " was destroyed");
              }
              return session.find(
                  RootSealRecord.class, new RootSealRecord.Key(generation, sealingKey.keyId()));
            })
        .chain(
            copy -> {
              if (copy != null) {
                return Uni.createFrom()
                    .item(
                        () ->
                            RootSealing.unseal(sealingKey, kmsId, generation, copy.sealedSecret()));
              }
              return session
                  .createSelectionQuery(
                      "select s.sealingKeyId from RootSealRecord s where s.generation = :g "
                          + "order by s.sealingKeyId",
                      String.class)
                  .setParameter("g", generation)
                  .getResultList()
                  .<byte[]>map(
                      holders -> {
                        throw new SealingException(
                            "root generation "
                                + generation
                                + " has no copy sealed under this node's "
                                + "sealing key "
                                + sealingKey.keyId()
                                + " (copies exist for sealing keys: "
                                + (holders.isEmpty() ? "none" : String.join(", ", holders))
                                + "); obtain it by onboarding from a peer that holds it "
                                + "(teekms.onboarding.source)");
                      });
            });
  }

  public Uni<byte[]> unseal(int generation) {
    return sessions.read(session -> unseal(session, generation));
  }
}
