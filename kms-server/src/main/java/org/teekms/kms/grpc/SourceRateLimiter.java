package org.teekms.kms.grpc;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A token bucket per source (an IP address): {@code burst} requests at once, refilled at {@code
 * perMinute} a minute. At most {@code maxSources} buckets are kept; the least recently used is
 * forgotten first (a forgotten source starts full again, which only an attacker with that many
 * addresses can exploit, and they could anyway). Thread-safe.
 */
public final class SourceRateLimiter {
  private final double tokensPerNano;
  private final int burst;
  private final LongSupplier nanoTime;
  private final LinkedHashMap<String, Bucket> buckets;

  public SourceRateLimiter(int perMinute, int burst, int maxSources, LongSupplier nanoTime) {
    if (perMinute < 1 || burst < 1 || maxSources < 1) {
      throw new IllegalArgumentException(
          "rate limit settings must be at least 1 (requests-per-minute "
              + perMinute
              + ", burst "
              + burst
              + ", max-sources "
              + maxSources
              + ")");
    }
    this.tokensPerNano = perMinute / 60e9;
    this.burst = burst;
    this.nanoTime = nanoTime;
    this.buckets =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
            return size() > maxSources;
          }
        };
  }

  /**
   * Takes one token for {@code source}; false when its bucket is empty (the request is refused).
   */
  public synchronized boolean tryAcquire(String source) {
    long now = nanoTime.getAsLong();
    Bucket b = buckets.get(source);
    if (b == null) {
      b = new Bucket(burst, now);
      buckets.put(source, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) * tokensPerNano);
      b.at = now;
    }
    if (b.tokens < 1) {
      return false;
    }
    b.tokens -= 1;
    return true;
  }

  private static final class Bucket {
    double tokens;
    long at;

    Bucket(double tokens, long at) {
      this.tokens = tokens;
      this.at = at;
    }
  }

  synchronized int trackedSources() {
    return buckets.size();
  }
}
