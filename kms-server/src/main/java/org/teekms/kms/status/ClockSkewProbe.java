package org.teekms.kms.status;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * This node's clock against the chain's: the latest block's timestamp as a quorum of RPC endpoints
 * reports it ({@code ChainPolicyReader.headTime}). Certificates tolerate a difference up to the
 * clock-skew allowance ({@code teekms.ratls.clock-skew-allowance}); beyond it this probe says which
 * clock is the likely culprit, so a refusal can name it (admission: {@code KMS_CLOCK_SKEW}, a
 * retryable UNAVAILABLE, instead of blaming the client's certificate) and operators see it
 * (GetKmsStatus {@code clock}, metric {@code teekms_clock_skew_seconds}, readiness data).
 *
 * <p>What a reading proves: the chain cannot produce blocks from the future (consensus rejects
 * them), so a node whose clock is <em>behind</em> the latest block by more than the allowance is
 * certainly behind. A node <em>ahead</em> of the latest block may instead be on a chain that has
 * produced no block for that long (an idle development chain; a real chain makes one every few
 * seconds): reported, and used to explain refusals of expired certificates only.
 *
 * <p>A reading is reused for {@code reuse}; {@link #last()} never blocks (admission asks it on the
 * call path) and starts a refresh in the background when the reading is stale.
 */
public final class ClockSkewProbe {

  /** The chain's latest block as the quorum reports it. */
  public record Head(long number, Instant timestamp) {}

  /** Reads the chain's latest block through the RPC quorum; throws when it cannot. */
  @FunctionalInterface
  public interface ChainClock {
    Head head() throws Exception;
  }

  /**
   * One reading: at {@code measuredAt} (this node's clock), the chain's latest block, or why none.
   */
  public record Reading(
      Instant measuredAt, Optional<Head> head, Duration allowance, String unknownBecause) {

    public boolean known() {
      return head.isPresent();
    }

    /** This node's clock minus the chain's latest block timestamp (zero when unknown). */
    public Duration skew() {
      return head.map(h -> Duration.between(h.timestamp(), measuredAt)).orElse(Duration.ZERO);
    }

    /** This node's clock is behind the chain's by more than the allowance (certain). */
    public boolean kmsBehind() {
      return known() && skew().negated().compareTo(allowance) > 0;
    }

    /**
     * This node's clock is ahead of the latest block by more than the allowance (or the chain is
     * idle).
     */
    public boolean kmsAhead() {
      return known() && skew().compareTo(allowance) > 0;
    }

    public boolean withinAllowance() {
      return known() && !kmsBehind() && !kmsAhead();
    }

    /** Empty when within the allowance; otherwise what is wrong, in words. */
    public String problem() {
      if (!known()) {
        return "clock skew unknown: " + unknownBecause;
      }
      if (kmsBehind()) {
        return "this node's clock is "
            + words(skew().negated())
            + " behind the chain's latest block ("
            + head.get().number()
            + " at "
            + head.get().timestamp()
            + "), more than the "
            + words(allowance)
            + " allowance (teekms.ratls.clock-skew-allowance): clients' fresh certificates look "
            + "not yet valid to it; fix this node's clock (NTP)";
      }
      if (kmsAhead()) {
        return "this node's clock is "
            + words(skew())
            + " ahead of the chain's latest block ("
            + head.get().number()
            + " at "
            + head.get().timestamp()
            + "), more than the "
            + words(allowance)
            + " allowance (teekms.ratls.clock-skew-allowance): clients whose clocks are right may"
            + " refuse its certificate as not yet valid; or the chain has made no block for that"
            + " long";
      }
      return "";
    }
  }

  private final ChainClock chain;
  private final Duration allowance;
  private final Duration reuse;
  private final Clock clock;
  private final Executor background;
  private final AtomicBoolean refreshing = new AtomicBoolean();
  private volatile Reading last;

  /**
   * @param chain null when no chain is configured (every reading is unknown)
   * @param reuse how long one reading serves
   * @param background where {@link #last()} refreshes a stale reading
   */
  public ClockSkewProbe(
      ChainClock chain, Duration allowance, Duration reuse, Clock clock, Executor background) {
    this.chain = chain;
    this.allowance = Objects.requireNonNull(allowance);
    this.reuse = Objects.requireNonNull(reuse);
    this.clock = Objects.requireNonNull(clock);
    this.background = Objects.requireNonNull(background);
  }

  public Duration allowance() {
    return allowance;
  }

  /** The last reading if younger than {@code reuse}, else a fresh one (blocks on the chain). */
  public Reading read() {
    Reading r = last;
    if (r != null && fresh(r)) {
      return r;
    }
    return probe();
  }

  /** A fresh reading now (blocks on the chain). */
  public Reading probe() {
    Reading r;
    if (chain == null) {
      r =
          new Reading(
              clock.instant(), Optional.empty(), allowance, "no chain configured (teekms.chain.*)");
    } else {
      try {
        Head h = chain.head();
        r = new Reading(clock.instant(), Optional.of(h), allowance, "");
      } catch (Exception e) {
        r =
            new Reading(
                clock.instant(),
                Optional.empty(),
                allowance,
                "the chain's latest block could not be read: " + oneLine(e));
      }
    }
    last = r;
    return r;
  }

  /**
   * The last reading without blocking (empty before the first); a stale one is returned as is and
   * refreshed in the background.
   */
  public Optional<Reading> last() {
    Reading r = last;
    if ((r == null || !fresh(r)) && refreshing.compareAndSet(false, true)) {
      try {
        background.execute(
            () -> {
              try {
                probe();
              } finally {
                refreshing.set(false);
              }
            });
      } catch (RuntimeException rejected) {
        refreshing.set(false);
      }
    }
    return Optional.ofNullable(r);
  }

  /** For the gauge: this node's clock minus the chain's, in seconds; NaN when unknown. */
  public double skewSeconds() {
    Reading r = last;
    return r == null || !r.known() ? Double.NaN : r.skew().toMillis() / 1000.0;
  }

  private boolean fresh(Reading r) {
    Duration age = Duration.between(r.measuredAt(), clock.instant());
    return !age.isNegative() && age.compareTo(reuse) < 0;
  }

  /** "30 min 2 s", "45 s". */
  static String words(Duration d) {
    long s = Math.abs(d.toSeconds());
    if (s < 60) {
      return s + " s";
    }
    return s / 60 + " min" + (s % 60 == 0 ? "" : " " + s % 60 + " s");
  }

  private static String oneLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
