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
 * Sealed root generations in PostgreSQL. Secrets go in sealed ({@link RootSealing}) and come out only through
 * {@link #unseal}; callers zero the returned array when done.
 */
public final class RootGenerationStore {

  private final Pool pool;
  private final SealingKey sealingKey;
  private final String kmsId;

  public RootGenerationStore(Pool pool, SealingKey sealingKey, String kmsId) {
    this.pool = pool;
    this.sealingKey = sealingKey;
    this.kmsId = kmsId;
  }

  public String kmsId() {
    return kmsId;
  }

  /** Inserts a generation with its secret sealed; runs in the caller's transaction ({@code tx}). */
  public Uni<Void> insert(SqlClient tx, int generation, RootState state, byte[] rootSecret, long now) {
    if (state == RootState.DESTROYED) {
      throw new IllegalArgumentException("cannot insert a destroyed generation");
    }
    byte[] sealed = RootSealing.seal(sealingKey, kmsId, generation, rootSecret);
    return tx.preparedQuery("INSERT INTO root_generation (generation, state, sealed_secret, sealing_key_id, created_at) "
            + "VALUES ($1, $2, $3, $4, $5)")
        .execute(Tuple.tuple().addInteger(generation).addString(state.name()).addBuffer(Buffer.buffer(sealed))
            .addString(sealingKey.keyId()).addLong(now))
        .replaceWithVoid();
  }

  public Uni<List<RootGeneration>> list(SqlClient client) {
    return client.query("SELECT generation, state, sealing_key_id, created_at, retired_at, destroy_after, destroyed_at "
        + "FROM root_generation ORDER BY generation").execute().map(rows -> {
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
    return list(client).map(all -> all.stream().filter(g -> g.state() == RootState.CURRENT).findFirst());
  }

  /**
   * Unseals one generation's secret. Fails with a precise message if it is destroyed, missing, or was sealed under a
   * different sealing key or for another KMS / generation.
   */
  public Uni<byte[]> unseal(SqlClient client, int generation) {
    return client.preparedQuery("SELECT state, sealed_secret, sealing_key_id FROM root_generation WHERE generation = $1")
        .execute(Tuple.of(generation)).map(rows -> {
          if (rows.size() == 0) {
            throw new SealingException("root generation " + generation + " does not exist");
          }
          Row r = rows.iterator().next();
          if (RootState.valueOf(r.getString("state")) == RootState.DESTROYED) {
            throw new SealingException("root generation " + generation + " was destroyed");
          }
          String keyId = r.getString("sealing_key_id");
          if (!keyId.equals(sealingKey.keyId())) {
            throw new SealingException("root generation " + generation + " is sealed under sealing key " + keyId
                + ", this node holds " + sealingKey.keyId());
          }
          return RootSealing.unseal(sealingKey, kmsId, generation, r.getBuffer("sealed_secret").getBytes());
        });
  }

  public Uni<byte[]> unseal(int generation) {
    return unseal(pool, generation);
  }

  static RootGeneration read(Row r) {
    return new RootGeneration(r.getInteger("generation"), RootState.valueOf(r.getString("state")),
        r.getString("sealing_key_id"), r.getLong("created_at"), Optional.ofNullable(r.getLong("retired_at")),
        Optional.ofNullable(r.getLong("destroy_after")), Optional.ofNullable(r.getLong("destroyed_at")));
  }
}
