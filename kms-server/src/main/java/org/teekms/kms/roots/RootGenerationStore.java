package org.teekms.kms.roots;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.teekms.kms.seal.SealingException;
import org.teekms.kms.seal.SealingKey;

/**
 * Sealed root generations in PostgreSQL. The public facts live in {@code root_generation}; the
 * secret lives in {@code root_seal}, one copy per sealing key ({@link RootSealing}), so replicas
 * with different sealing keys share one database. Secrets go in sealed and come out only through
 * {@link #unseal}; callers zero the returned array.
 */
public final class RootGenerationStore {

  private final Pool pool;
  private final SealingKey sealingKey;
  private final String kmsId;
  private final String nodeId;

  public RootGenerationStore(Pool pool, SealingKey sealingKey, String kmsId) {
    this(pool, sealingKey, kmsId, null);
  }

  /** {@code nodeId} (may be null) is recorded with the copies this node writes, for operators. */
  public RootGenerationStore(Pool pool, SealingKey sealingKey, String kmsId, String nodeId) {
    this.pool = pool;
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
   * Inserts a generation and this node's sealed copy of its secret; runs in the caller's
   * transaction ({@code tx}).
   */
  public Uni<Void> insert(
      SqlClient tx, int generation, RootState state, byte[] rootSecret, long now) {
    if (state == RootState.DESTROYED) {
      throw new IllegalArgumentException("cannot insert a destroyed generation");
    }
    byte[] sealed = RootSealing.seal(sealingKey, kmsId, generation, rootSecret);
    return tx.preparedQuery(
            "INSERT INTO root_generation (generation, state, sealing_key_id, created_at) "
                + "VALUES ($1, $2, $3, $4)")
        .execute(Tuple.of(generation, state.name(), sealingKey.keyId(), now))
        .chain(() -> insertCopy(tx, generation, sealed, now));
  }

  /**
   * Adds this node's sealed copy of an existing generation (obtained by onboarding from a peer).
   * Idempotent: a copy under this key that is already there is kept. Fails if the generation is
   * missing or destroyed.
   */
  public Uni<Void> addCopy(SqlClient tx, int generation, byte[] rootSecret, long now) {
    byte[] sealed = RootSealing.seal(sealingKey, kmsId, generation, rootSecret);
    return insertCopy(tx, generation, sealed, now);
  }

  private Uni<Void> insertCopy(SqlClient tx, int generation, byte[] sealed, long now) {
    return tx.preparedQuery(
            "INSERT INTO root_seal (generation, sealing_key_id, node_id, sealed_secret, created_at) "
                + "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (generation, sealing_key_id) DO NOTHING")
        .execute(
            Tuple.tuple()
                .addInteger(generation)
                .addString(sealingKey.keyId())
                .addString(nodeId)
                .addBuffer(Buffer.buffer(sealed))
                .addLong(now))
        .replaceWithVoid();
  }

  public Uni<List<RootGeneration>> list(SqlClient client) {
    return client
        .query(
            "SELECT generation, state, sealing_key_id, created_at, retired_at, destroy_after, destroyed_at "
                + "FROM root_generation ORDER BY generation")
        .execute()
        .map(
            rows -> {
              List<RootGeneration> out = new ArrayList<>();
              rows.forEach(r -> out.add(read(r)));
              return out;
            });
  }

  public Uni<List<RootGeneration>> list() {
    return list(pool);
  }

  /** The CURRENT generation, or empty before bootstrap. */
  public Uni<Optional<RootGeneration>> current(SqlClient client) {
    return list(client)
        .map(all -> all.stream().filter(g -> g.state() == RootState.CURRENT).findFirst());
  }

  /**
   * Live (CURRENT or RETIRED) generations that have no copy under this node's sealing key,
   * ascending.
   */
  public Uni<List<Integer>> missingCopies(SqlClient client) {
    return client
        .preparedQuery(
            "SELECT g.generation FROM root_generation g WHERE g.state IN ('CURRENT', 'RETIRED') "
                + "AND NOT EXISTS (SELECT 1 FROM root_seal s WHERE s.generation = g.generation AND s.sealing_key_id = $1) "
                + "ORDER BY g.generation")
        .execute(Tuple.of(sealingKey.keyId()))
        .map(
            rows -> {
              List<Integer> out = new ArrayList<>();
              rows.forEach(r -> out.add(r.getInteger(0)));
              return out;
            });
  }

  /**
   * Unseals this node's copy of one generation's secret. Fails with a precise message if the
   * generation is destroyed or missing, if this node's sealing key has no copy (naming the keys
   * that have one), or if the copy does not authenticate.
   */
  public Uni<byte[]> unseal(SqlClient client, int generation) {
    return client
        .preparedQuery(
            "SELECT g.state, s.sealed_secret, "
                + "(SELECT string_agg(o.sealing_key_id, ', ' ORDER BY o.sealing_key_id) FROM root_seal o "
                + "WHERE o.generation = g.generation) AS holders "
                + "FROM root_generation g LEFT JOIN root_seal s ON s.generation = g.generation AND s.sealing_key_id = $2 "
                + "WHERE g.generation = $1")
        .execute(Tuple.of(generation, sealingKey.keyId()))
        .map(
            rows -> {
              if (rows.size() == 0) {
                throw new SealingException("root generation " + generation + " does not exist");
              }
              Row r = rows.iterator().next();
              if (RootState.valueOf(r.getString("state")) == RootState.DESTROYED) {
                throw new SealingException("root generation " + generation + " was destroyed");
              }
              Buffer sealed = r.getBuffer("sealed_secret");
              if (sealed == null) {
                String holders = r.getString("holders");
                throw new SealingException(
                    "root generation "
                        + generation
                        + " has no copy sealed under this node's "
                        + "sealing key "
                        + sealingKey.keyId()
                        + " (copies exist for sealing keys: "
                        + (holders == null ? "none" : holders)
                        + "); obtain it by onboarding from a peer that holds it "
                        + "(teekms.onboarding.source)");
              }
              return RootSealing.unseal(sealingKey, kmsId, generation, sealed.getBytes());
            });
  }

  public Uni<byte[]> unseal(int generation) {
    return unseal(pool, generation);
  }

  static RootGeneration read(Row r) {
    return new RootGeneration(
        r.getInteger("generation"),
        RootState.valueOf(r.getString("state")),
        r.getString("sealing_key_id"),
        r.getLong("created_at"),
        Optional.ofNullable(r.getLong("retired_at")),
        Optional.ofNullable(r.getLong("destroy_after")),
        Optional.ofNullable(r.getLong("destroyed_at")));
  }
}
