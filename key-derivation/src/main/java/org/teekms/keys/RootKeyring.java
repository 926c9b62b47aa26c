package org.teekms.keys;

import java.security.SecureRandom;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The KMS's root secrets by generation (docs §1): exactly one current, older ones retained (derive
 * only) or destroyed (zeroized; crypto-shredding). Thread-safe. The keyring owns the secrets handed
 * to it and destroys them.
 */
public final class RootKeyring implements AutoCloseable {
  public static final int ROOT_SECRET_LENGTH = 32;

  /**
   * CURRENT: new key versions use it; RETIRED: replaced by a newer generation, still held to derive
   * the versions pinned to it (the same meaning as the KMS database's and the registry's RETIRED);
   * DESTROYED: zeroized.
   */
  public enum GenerationState {
    CURRENT,
    RETIRED,
    DESTROYED
  }

  private final TreeMap<Integer, SecretBytes> secrets = new TreeMap<>();
  private int current;

  /**
   * A keyring whose first (current) generation is {@code generation}. Takes ownership of {@code
   * rootSecret}.
   */
  public RootKeyring(int generation, SecretBytes rootSecret) {
    put(generation, rootSecret);
  }

  /** 32 fresh random bytes for a new generation. */
  public static SecretBytes generateRootSecret(SecureRandom random) {
    return SecretBytes.random(ROOT_SECRET_LENGTH, random);
  }

  /**
   * Adds a generation, which becomes current; the previous current one becomes retained. The number
   * must be larger than every generation ever held (numbers are never reused). Takes ownership of
   * {@code rootSecret}.
   */
  public synchronized void addCurrent(int generation, SecretBytes rootSecret) {
    if (generation <= secrets.lastKey()) {
      throw new IllegalArgumentException(
          "generation " + generation + " must be > " + secrets.lastKey());
    }
    put(generation, rootSecret);
  }

  private void put(int generation, SecretBytes rootSecret) {
    if (generation < 1) {
      throw new IllegalArgumentException("generation must be >= 1, got " + generation);
    }
    if (rootSecret.length() != ROOT_SECRET_LENGTH) {
      throw new IllegalArgumentException(
          "root secret must be " + ROOT_SECRET_LENGTH + " bytes, got " + rootSecret.length());
    }
    rootSecret.internal(); // refuses an already destroyed secret
    secrets.put(generation, rootSecret);
    current = generation;
  }

  /** Zeroizes a retained generation's secret. The current generation cannot be destroyed. */
  public synchronized void destroy(int generation) {
    SecretBytes s = secrets.get(generation);
    if (s == null) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.GENERATION_UNKNOWN, "generation " + generation);
    }
    if (generation == current) {
      throw new IllegalStateException(
          "the current generation " + generation + " cannot be destroyed; add a new one first");
    }
    s.destroy();
  }

  public synchronized int currentGeneration() {
    return current;
  }

  /** Every generation ever held, with its state, in ascending order. */
  public synchronized SortedMap<Integer, GenerationState> generations() {
    TreeMap<Integer, GenerationState> m = new TreeMap<>();
    for (Map.Entry<Integer, SecretBytes> e : secrets.entrySet()) {
      m.put(
          e.getKey(),
          e.getValue().isDestroyed()
              ? GenerationState.DESTROYED
              : e.getKey() == current ? GenerationState.CURRENT : GenerationState.RETIRED);
    }
    return Collections.unmodifiableSortedMap(m);
  }

  /**
   * A copy of one generation's secret for a single derivation (the caller destroys it), so that a
   * concurrent {@link #destroy} never races with a derivation reading the bytes.
   */
  synchronized SecretBytes secretCopy(int generation) {
    SecretBytes s = secrets.get(generation);
    if (s == null) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.GENERATION_UNKNOWN, "generation " + generation);
    }
    if (s.isDestroyed()) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.GENERATION_DESTROYED, "generation " + generation);
    }
    return SecretBytes.wrap(s.internal().clone());
  }

  /** Destroys every secret. */
  @Override
  public synchronized void close() {
    secrets.values().forEach(SecretBytes::destroy);
  }

  @Override
  public synchronized String toString() {
    return "RootKeyring" + generations();
  }
}
