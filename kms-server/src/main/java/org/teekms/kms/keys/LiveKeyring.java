package org.teekms.kms.keys;

import io.vertx.mutiny.sqlclient.SqlClient;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;

/**
 * The in-memory {@link RootKeyring} of this node, kept in step with the database: generations promoted to CURRENT
 * (by any replica's rotation job) are unsealed and added, generations DESTROYED in the database are zeroized here.
 * STAGED generations are never loaded. Secrets leave the database only through the sealing key.
 */
public final class LiveKeyring implements AutoCloseable {

  private final RootGenerationStore store;
  private final Duration wait;
  private RootKeyring keyring;
  private List<RootGeneration> seen = List.of();

  public LiveKeyring(RootGenerationStore store, Duration wait) {
    this.store = store;
    this.wait = wait;
  }

  /** A deriver over the keyring as of now (refreshed from the database first). */
  public KmsKeyDeriver deriver(SqlClient db) {
    // The database is read outside the lock (every admission does this read; holding the lock across the round trip
    // made all admissions queue on one connection's latency); only a change takes the lock to update the keyring.
    List<RootGeneration> now = store.list(db).await().atMost(wait);
    synchronized (this) {
      apply(db, now);
      return new KmsKeyDeriver(keyring);
    }
  }

  /** Brings the keyring in line with the database. Blocking: call from a worker thread. */
  public void refresh(SqlClient db) {
    List<RootGeneration> now = store.list(db).await().atMost(wait);
    synchronized (this) {
      apply(db, now);
    }
  }

  private void apply(SqlClient db, List<RootGeneration> now) {
    if (now.equals(seen) && keyring != null) {
      return;
    }
    Map<Integer, RootState> states = now.stream().collect(Collectors.toMap(RootGeneration::generation, RootGeneration::state));
    List<Integer> live = now.stream().filter(g -> g.state() == RootState.CURRENT || g.state() == RootState.RETIRED)
        .map(RootGeneration::generation).sorted().toList();
    if (live.isEmpty() || states.get(live.get(live.size() - 1)) != RootState.CURRENT) {
      throw new IllegalStateException("no CURRENT root generation (or it is not the newest live one): " + states);
    }
    int held = keyring == null ? 0 : keyring.currentGeneration();
    for (int g : live) {
      if (g > held) {
        SecretBytes secret = unseal(db, g);
        if (keyring == null) {
          keyring = new RootKeyring(g, secret);
        } else {
          keyring.addCurrent(g, secret);
        }
      }
    }
    for (Map.Entry<Integer, RootKeyring.GenerationState> e : keyring.generations().entrySet()) {
      if (e.getValue() == RootKeyring.GenerationState.RETAINED && states.get(e.getKey()) == RootState.DESTROYED) {
        keyring.destroy(e.getKey());
      }
    }
    seen = now;
  }

  private SecretBytes unseal(SqlClient db, int generation) {
    byte[] raw = store.unseal(db, generation).await().atMost(wait);
    try {
      return SecretBytes.copyOf(raw, InsecureSecretAccess.get());
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
  }

  @Override
  public synchronized void close() {
    if (keyring != null) {
      keyring.close();
    }
  }
}
