package org.teekms.agent.proxy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A token bucket per source address: {@code perMinute} tokens a minute, at most {@code burst}
 * saved; at most {@code maxSources} buckets (the least recently seen source is forgotten first, so
 * memory stays bounded whatever addresses a flood uses; a forgotten source starts again with a full
 * burst). Thread-safe.
 */
final class SourceBudget {
  private final double tokensPerMilli;
  private final int burst;
  private final LongSupplier millis;
  private final Map<String, double[]> buckets;

  SourceBudget(int perMinute, int burst, int maxSources, LongSupplier millis) {
    this.tokensPerMilli = perMinute / 60_000.0;
    this.burst = burst;
    this.millis = millis;
    this.buckets =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, double[]> eldest) {
            return size() > maxSources;
          }
        };
  }

  /**
   * Takes a token for {@code source}: 0 when taken, else the milliseconds until one is available.
   */
  synchronized long tryAcquire(String source) {
    long now = millis.getAsLong();
    double[] b = buckets.computeIfAbsent(source, s -> new double[] {burst, now});
    b[0] = Math.min(burst, b[0] + (now - (long) b[1]) * tokensPerMilli);
    b[1] = now;
    if (b[0] >= 1) {
      b[0] -= 1;
      return 0;
    }
    return Math.max(1, (long) Math.ceil((1 - b[0]) / tokensPerMilli));
  }
}
