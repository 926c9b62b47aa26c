package org.teekms.agent.proxy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Signatures by chat id, bounded in size (oldest evicted first) and in time (entries expire after
 * {@code ttl}). A streamed response registers its chat id as pending as soon as the id is seen, so
 * a client that asks for the signature right after the last event waits for it instead of getting a
 * 404.
 */
public final class SignatureStore {
  private record Entry(CompletableFuture<SignedResponse> signature, Instant expires) {}

  private final int maxEntries;
  private final Duration ttl;
  private final Clock clock;
  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();

  public SignatureStore(int maxEntries, Duration ttl, Clock clock) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries must be positive");
    }
    this.maxEntries = maxEntries;
    this.ttl = ttl;
    this.clock = clock;
  }

  /** Marks {@code chatId} as being signed (idempotent). */
  public synchronized void pending(String chatId) {
    expire();
    entries.computeIfAbsent(
        chatId, k -> new Entry(new CompletableFuture<>(), clock.instant().plus(ttl)));
    evict();
  }

  public synchronized void put(String chatId, SignedResponse signed) {
    expire();
    Entry e = entries.get(chatId);
    if (e == null || e.signature().isDone()) {
      // a reused chat id gets the newest signature
      entries.remove(chatId);
      e = new Entry(new CompletableFuture<>(), clock.instant().plus(ttl));
      entries.put(chatId, e);
    }
    e.signature().complete(signed);
    evict();
  }

  /** The stream failed: waiters stop waiting and the id is forgotten. */
  public synchronized void abandon(String chatId) {
    Entry e = entries.get(chatId);
    if (e != null && !e.signature().isDone()) {
      entries.remove(chatId);
      e.signature().cancel(false);
    }
  }

  /** The signature of {@code chatId}, waiting up to {@code wait} while it is pending. */
  public Optional<SignedResponse> get(String chatId, Duration wait) throws InterruptedException {
    CompletableFuture<SignedResponse> f;
    synchronized (this) {
      expire();
      Entry e = entries.get(chatId);
      if (e == null) {
        return Optional.empty();
      }
      f = e.signature();
    }
    try {
      return Optional.of(f.get(wait.toMillis(), TimeUnit.MILLISECONDS));
    } catch (ExecutionException | TimeoutException | java.util.concurrent.CancellationException e) {
      return Optional.empty();
    }
  }

  public synchronized int size() {
    expire();
    return entries.size();
  }

  private void expire() {
    Instant now = clock.instant();
    Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
    while (it.hasNext()) {
      Entry e = it.next().getValue();
      if (!e.expires().isAfter(now)) {
        e.signature().cancel(false);
        it.remove();
      }
    }
  }

  private void evict() {
    Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
    while (entries.size() > maxEntries && it.hasNext()) {
      it.next().getValue().signature().cancel(false);
      it.remove();
    }
  }
}
