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
import org.teekms.kms.roots.ChainRootAnchor;
import org.teekms.kms.roots.RootAnchorViolation;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;

/**
 * The in-memory {@link RootKeyring} of this node, kept in step with the database: generations promoted to CURRENT
 * (by any replica's rotation job) are unsealed and added, generations DESTROYED in the database are zeroized here.
 * STAGED generations are never loaded. Secrets leave the database only through the sealing key. With the chain's
 * root-generation anchor ({@link ChainRootAnchor}), the database is checked first and generations the chain says are
 * destroyed are never unsealed (and are zeroized if held), whatever the database says.
 */
public final class LiveKeyring implements AutoCloseable {

  private final RootGenerationStore store;
  private final Duration wait;
  private RootKeyring keyring;
  private List<RootGeneration> seen = List.of();
  /** The newest chain anchor applied (kept across calls without one), and the one the keyring reflects. */
  private ChainRootAnchor anchored;
  private ChainRootAnchor anchorSeen;

  public LiveKeyring(RootGenerationStore store, Duration wait) {
    this.store = store;
    this.wait = wait;
  }

  /** A deriver over the keyring as of now (refreshed from the database first), without a chain anchor. */
  public KmsKeyDeriver deriver(SqlClient db) {
    return deriver(db, null);
  }

  /**
   * A deriver over the keyring as of now, refreshed from the database after checking it against the chain's
   * root-generation anchor: a database older than the chain's current generation is refused, a generation the chain
   * says is DESTROYED is never unsealed and is zeroized if held.
   *
   * @param anchor the chain's anchor read at the decision's block; null = none (GetKmsInfo, tests without a chain)
   * @throws RootAnchorViolation when the database contradicts the anchor
   */
  public KmsKeyDeriver deriver(SqlClient db, ChainRootAnchor anchor) {
    // The database is read outside the lock (every admission does this read; holding the lock across the round trip
    // made all admissions queue on one connection's latency); only a change takes the lock to update the keyring.
    List<RootGeneration> now = store.list(db).await().atMost(wait);
    synchronized (this) {
      apply(db, now, anchor);
      return new KmsKeyDeriver(keyring);
    }
  }

  /** Brings the keyring in line with the database. Blocking: call from a worker thread. */
  public void refresh(SqlClient db) {
    refresh(db, null);
  }

  /** As {@link #deriver(SqlClient, ChainRootAnchor)}: checked against the anchor before anything is unsealed. */
  public void refresh(SqlClient db, ChainRootAnchor anchor) {
    List<RootGeneration> now = store.list(db).await().atMost(wait);
    synchronized (this) {
      apply(db, now, anchor);
    }
  }

  private void apply(SqlClient db, List<RootGeneration> now, ChainRootAnchor anchor) {
    if (anchor != null) {
      anchored = anchor;
    }
    if (now.equals(seen) && keyring != null && java.util.Objects.equals(anchorSeen, anchored)) {
      return;
    }
    ChainRootAnchor chain = anchored;
    if (chain != null) {
      chain.checkDatabase(now); // also for reads without a new anchor (GetKmsInfo): the last one seen still holds
    }
    Map<Integer, RootState> states = now.stream().collect(Collectors.toMap(RootGeneration::generation, RootGeneration::state));
    List<Integer> live = now.stream().filter(g -> g.state() == RootState.CURRENT || g.state() == RootState.RETIRED)
        .map(RootGeneration::generation).sorted().toList();
    if (live.isEmpty() || states.get(live.get(live.size() - 1)) != RootState.CURRENT) {
      throw new IllegalStateException("no CURRENT root generation (or it is not the newest live one): " + states);
    }
    int held = keyring == null ? 0 : keyring.currentGeneration();
    for (int g : live) {
      // Never unseal a generation the chain says is destroyed (an old backup revived it in the database).
      if (g > held && (chain == null || chain.refusal(g).isEmpty())) {
        SecretBytes secret = unseal(db, g);
        if (keyring == null) {
          keyring = new RootKeyring(g, secret);
        } else {
          keyring.addCurrent(g, secret);
        }
      }
    }
    for (Map.Entry<Integer, RootKeyring.GenerationState> e : keyring.generations().entrySet()) {
      boolean destroyedOnChain = chain != null && chain.state(e.getKey()) == ChainRootAnchor.State.DESTROYED;
      if (e.getValue() == RootKeyring.GenerationState.RETIRED
          && (states.get(e.getKey()) == RootState.DESTROYED || destroyedOnChain)) {
        keyring.destroy(e.getKey());
      }
    }
    seen = now;
    anchorSeen = chain;
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
