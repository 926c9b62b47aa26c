package org.teekms.agent.boot;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter for transient KMS errors: attempt n waits a random time in
 * [0, min(max, initial·2ⁿ)]. At most {@code maxAttempts} attempts in total.
 */
public record Backoff(Duration initial, Duration max, int maxAttempts) {
  public Backoff {
    if (initial.isNegative() || max.compareTo(initial) < 0 || maxAttempts < 1) {
      throw new IllegalArgumentException("backoff needs 0 <= initial <= max and maxAttempts >= 1");
    }
  }

  public static Backoff defaults() {
    return new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), 20);
  }

  /** The delay before attempt {@code attempt} (1-based; attempt 1 is immediate). */
  public Duration delayBefore(int attempt) {
    if (attempt <= 1) {
      return Duration.ZERO;
    }
    long cap = initial.toMillis() << Math.min(attempt - 2, 20);
    cap = Math.min(Math.max(cap, 0), max.toMillis());
    return Duration.ofMillis(cap == 0 ? 0 : ThreadLocalRandom.current().nextLong(cap + 1));
  }

  /** Sleeps between attempts (replaceable in tests). */
  @FunctionalInterface
  public interface Sleeper {
    void sleep(Duration d) throws InterruptedException;

    Sleeper REAL = d -> Thread.sleep(d.toMillis());
  }
}
