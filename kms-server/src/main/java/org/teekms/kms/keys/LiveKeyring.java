package org.teekms.kms.keys;

import io.smallrye.mutiny.Uni;
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
 * The in-memory {@link RootKeyring} of this node, kept in step with the database: generations
 * promoted to CURRENT (by any replica's rotation job) are unsealed and added, generations DESTROYED
 * in the database are zeroized here. STAGED generations are never loaded. Secrets leave the
 * database only through the sealing key. With the chain's root-generation anchor ({@link
 * ChainRootAnchor}), the database is checked first and generations the chain says are destroyed are
 * never unsealed (and are zeroized if held), whatever the database says.
 */
public final class LiveKeyring implements AutoCloseable {

  private final RootGenerationStore store;
  private final Duration wait;
  private RootKeyring keyring;
  private List<RootGeneration> seen = List.of();

  /**
   * The newest chain anchor applied (kept across calls without one), and the one the keyring
   * reflects.
   */
  private ChainRootAnchor anchored;

  private ChainRootAnchor anchorSeen;

  /** {@code wait}: how long a refresh waits for the database's list of generations. */
  public LiveKeyring(RootGenerationStore store, Duration wait) {
    this.store = store;
    this.wait = wait;
  }

  /**
   * A deriver over the keyring as of now, refreshed from the database after checking it against the
   * chain's root-generation anchor: a database older than the chain's current generation is
   * refused, a generation the chain says is DESTROYED is never unsealed and is zeroized if held.
   * Non-blocking: the database is read (and new generations' sealed copies fetched and unsealed)
   * without holding the lock; only the change to the keyring takes it.
   *
   * @param anchor the chain's anchor read at the decision's block; null = none (GetKmsInfo, tests
   *     without a chain)
   * @return fails with {@link RootAnchorViolation} when the database contradicts the anchor
   */
  public Uni<KmsKeyDeriver> derive(ChainRootAnchor anchor) {
    return store.list().ifNoItem().after(wait).fail().chain(now -> derive(anchor, now));
  }

  /**
   * As {@link #derive(ChainRootAnchor)}, with the database's list of generations as the caller just
   * read it (admission reads it once, with the app's key state, for its anchor check and this).
   */
  public Uni<KmsKeyDeriver> derive(ChainRootAnchor anchor, List<RootGeneration> now) {
    List<Integer> needed;
    synchronized (this) {
      needed = toUnseal(now, anchor);
    }
    return unsealAll(needed)
        .map(
            secrets -> {
              try {
                synchronized (this) {
                  apply(now, anchor, secrets);
                  return new KmsKeyDeriver(keyring);
                }
              } finally {
                secrets.values().forEach(SecretBytes::close);
              }
            });
  }

  /**
   * The live generations newer than the keyring's that the chain does not refuse: the ones apply()
   * will add.
   */
  private List<Integer> toUnseal(List<RootGeneration> now, ChainRootAnchor anchor) {
    ChainRootAnchor chain = anchor != null ? anchor : anchored;
    int held = keyring == null ? 0 : keyring.currentGeneration();
    return now.stream()
        .filter(g -> g.state() == RootState.CURRENT || g.state() == RootState.RETIRED)
        .map(RootGeneration::generation)
        .filter(g -> g > held && (chain == null || chain.refusal(g).isEmpty()))
        .sorted()
        .toList();
  }

  /** Unseals {@code generations} one after the other; on failure, what was unsealed is zeroized. */
  private Uni<Map<Integer, SecretBytes>> unsealAll(List<Integer> generations) {
    Map<Integer, SecretBytes> out = new java.util.TreeMap<>();
    Uni<Void> chain = Uni.createFrom().voidItem();
    for (int g : generations) {
      chain =
          chain
              .chain(() -> store.unseal(g))
              .invoke(
                  raw -> {
                    try {
                      out.put(g, SecretBytes.copyOf(raw, InsecureSecretAccess.get()));
                    } finally {
                      Arrays.fill(raw, (byte) 0);
                    }
                  })
              .replaceWithVoid();
    }
    return chain
        .replaceWith(out)
        .onFailure()
        .invoke(() -> out.values().forEach(SecretBytes::close));
  }

  /**
   * Applies the database's list (and anchor); takes from {@code secrets} what it adds (the rest is
   * closed by the caller).
   */
  private void apply(
      List<RootGeneration> now, ChainRootAnchor anchor, Map<Integer, SecretBytes> secrets) {
    if (anchor != null) {
      anchored = anchor;
    }
    if (now.equals(seen) && keyring != null && java.util.Objects.equals(anchorSeen, anchored)) {
      return;
    }
    ChainRootAnchor chain = anchored;
    if (chain != null) {
      chain.checkDatabase(
          now); // also for reads without a new anchor (GetKmsInfo): the last one seen still holds
    }
    Map<Integer, RootState> states =
        now.stream().collect(Collectors.toMap(RootGeneration::generation, RootGeneration::state));
    List<Integer> live =
        now.stream()
            .filter(g -> g.state() == RootState.CURRENT || g.state() == RootState.RETIRED)
            .map(RootGeneration::generation)
            .sorted()
            .toList();
    if (live.isEmpty() || states.get(live.get(live.size() - 1)) != RootState.CURRENT) {
      throw new IllegalStateException(
          "no CURRENT root generation (or it is not the newest live one): " + states);
    }
    int held = keyring == null ? 0 : keyring.currentGeneration();
    for (int g : live) {
      // Never unseal a generation the chain says is destroyed (an old backup revived it in the
      // database).
      if (g > held && (chain == null || chain.refusal(g).isEmpty())) {
        SecretBytes secret = secrets.remove(g);
        if (secret == null) {
          // Another caller changed the anchor between the read and now: refuse this once rather
          // than guess.
          throw new IllegalStateException(
              "root generation " + g + " was not unsealed for this refresh; retry");
        }
        if (keyring == null) {
          keyring = new RootKeyring(g, secret);
        } else {
          keyring.addCurrent(g, secret);
        }
      }
    }
    for (Map.Entry<Integer, RootKeyring.GenerationState> e : keyring.generations().entrySet()) {
      boolean destroyedOnChain =
          chain != null && chain.state(e.getKey()) == ChainRootAnchor.State.DESTROYED;
      if (e.getValue() == RootKeyring.GenerationState.RETIRED
          && (states.get(e.getKey()) == RootState.DESTROYED || destroyedOnChain)) {
        keyring.destroy(e.getKey());
      }
    }
    seen = now;
    anchorSeen = chain;
  }

  @Override
  public synchronized void close() {
    if (keyring != null) {
      keyring.close();
    }
  }
}
