package org.teekms.kms.keys;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.VersionRef;

/**
 * The version-level part of what GetAppKeys releases is a pure function of (root generation, app,
 * version): the app root secret and its certificate by the KMS root key, the env-encryption and app
 * CA keys and their certificates. Deriving it costs about ten elliptic-curve multiplications; only
 * the disk key depends on the instance. This cache keeps that part for a bounded number of
 * (generation, app, version) triples for a bounded time, in memory only.
 *
 * <p>Security: it holds nothing the node could not recompute from the root secrets it already holds
 * in memory. Every lookup re-checks the app's version policy and that the generation is live in the
 * keyring (a destroyed or retired generation is never served from here, and its entries are
 * zeroized on the next lookup); evicted, expired, replaced and purged entries are zeroized by the
 * cache's removal listener (Caffeine, run on the calling thread, so no entry outlives its removal
 * by a scheduling delay). Callers get copies; an entry's secrets are only read under its lock, so
 * zeroization never races with a copy.
 */
public final class VersionKeyCache {

  /** Version-level keys of one (generation, app, version). */
  private static final class Entry {
    final byte[] appRootSecret;
    final AppRootCertificate appRootCertificate;
    final byte[] envKey;
    final PurposeKeyCertificate envCertificate;
    final byte[] caKey;
    final PurposeKeyCertificate caCertificate;
    final byte[] appCaX509; // public: the app CA certificate issued by the KMS CA
    final byte[] kmsCaX509; // public
    boolean destroyed;

    Entry(
        byte[] appRootSecret,
        AppRootCertificate appRootCertificate,
        byte[] envKey,
        PurposeKeyCertificate envCertificate,
        byte[] caKey,
        PurposeKeyCertificate caCertificate,
        byte[] appCaX509,
        byte[] kmsCaX509) {
      this.appRootSecret = appRootSecret;
      this.appRootCertificate = appRootCertificate;
      this.envKey = envKey;
      this.envCertificate = envCertificate;
      this.caKey = caKey;
      this.caCertificate = caCertificate;
      this.appCaX509 = appCaX509;
      this.kmsCaX509 = kmsCaX509;
    }

    synchronized byte[][] copies() {
      return destroyed ? null : new byte[][] {appRootSecret.clone(), envKey.clone(), caKey.clone()};
    }

    synchronized void destroy() {
      Arrays.fill(appRootSecret, (byte) 0);
      Arrays.fill(envKey, (byte) 0);
      Arrays.fill(caKey, (byte) 0);
      destroyed = true;
    }
  }

  private final int maxEntries;
  private final Cache<VersionRef, Entry> entries;
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder zeroized = new LongAdder();

  public VersionKeyCache(int maxEntries, Duration ttl) {
    this(maxEntries, ttl, System::nanoTime);
  }

  VersionKeyCache(int maxEntries, Duration ttl, LongSupplier nanoTime) {
    if (maxEntries < 0 || ttl.isNegative()) {
      throw new IllegalArgumentException("cache bounds must not be negative");
    }
    this.maxEntries = maxEntries;
    this.entries =
        Caffeine.newBuilder()
            .maximumSize(maxEntries)
            .expireAfterWrite(ttl)
            .ticker(nanoTime::getAsLong)
            .executor(
                Runnable
                    ::run) // eviction and the removal listener on the caller's thread: zeroized now
            .<VersionRef, Entry>removalListener(
                (key, entry, cause) -> {
                  if (entry != null) {
                    entry.destroy();
                    zeroized.increment();
                  }
                })
            .build();
  }

  /**
   * What {@link AppKeyIssuer#issue} returns, byte for byte, with the version-level part from the
   * cache when present. The version policy and the generation's liveness are checked on every call
   * (refusal = KeyRefusedException from the deriver, as without the cache).
   */
  public ReleasedAppKeys issue(
      KmsKeyDeriver deriver,
      VersionRef key,
      Optional<InstanceId> instance,
      KeyVersionPolicy policy) {
    policy.check(key.version());
    Map<Integer, RootKeyring.GenerationState> states = deriver.keyring().generations();
    Set<Integer> live =
        states.entrySet().stream()
            .filter(e -> e.getValue() != RootKeyring.GenerationState.DESTROYED)
            .map(Map.Entry::getKey)
            .collect(java.util.stream.Collectors.toSet());
    Entry entry = live.contains(key.generation()) ? lookup(key, live) : null;
    byte[][] copies = entry == null ? null : entry.copies();
    if (copies == null) {
      // Miss (or a generation the keyring does not hold, which the deriver refuses with its precise
      // reason).
      ReleasedAppKeys fresh = AppKeyIssuer.issue(deriver, key, instance, policy);
      store(key, fresh);
      return fresh;
    }
    InsecureSecretAccess access = InsecureSecretAccess.get();
    byte[] disk = null;
    if (instance.isPresent()) {
      // KMS-tier: derived from the root generation itself, per instance, never cached.
      try (DerivedKey d = deriver.derive(KeyRequest.disk(key, instance.get(), ""), policy)) {
        disk = d.privateKeyBytes(access);
      } catch (RuntimeException e) {
        Arrays.stream(copies).forEach(c -> Arrays.fill(c, (byte) 0));
        throw e;
      }
    }
    return new ReleasedAppKeys(
        key.version(),
        key.generation(),
        disk,
        copies[0],
        entry.appRootCertificate,
        copies[1],
        entry.envCertificate,
        copies[2],
        entry.caCertificate,
        entry.appCaX509.clone(),
        entry.kmsCaX509.clone());
  }

  private Entry lookup(VersionRef key, Set<Integer> live) {
    // Zeroize entries of generations that are no longer live (destroyed roots), whatever their age.
    entries.asMap().keySet().removeIf(k -> !live.contains(k.generation()));
    Entry entry =
        entries.getIfPresent(key); // an expired entry is absent (and removed, so zeroized)
    (entry == null ? misses : hits).increment();
    return entry;
  }

  private void store(VersionRef key, ReleasedAppKeys keys) {
    if (maxEntries == 0) {
      return;
    }
    entries.put(
        key,
        new Entry(
            keys.appRootSecret(),
            keys.appRootCertificate(),
            keys.envEncryptionKey(),
            keys.envEncryptionCertificate(),
            keys.appCaKey(),
            keys.appCaCertificate(),
            keys.appCaX509(),
            keys.kmsCaX509()));
  }

  /** Zeroizes and drops every entry. */
  public void clear() {
    entries.invalidateAll();
    entries.cleanUp();
  }

  public int size() {
    entries.cleanUp();
    return (int) entries.estimatedSize();
  }

  /** Lookups answered from the cache / not (metrics and tests). */
  public long hits() {
    return hits.sum();
  }

  public long misses() {
    return misses.sum();
  }

  /** Entries zeroized so far (evicted, expired, replaced, purged or cleared). */
  public long zeroizedEntries() {
    return zeroized.sum();
  }
}
