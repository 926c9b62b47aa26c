package org.teekms.attest.tdx.collateral;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Caches collateral per request (TEE type, FMSPC, PCK CA) so that verifying a quote needs no
 * network access while the collateral is current, and bounds how old the cached copy may get: an
 * entry fetched at {@code t} is used until {@code min(nextUpdate, t + maxAge)} at the latest, so a
 * PCK certificate revoked or a TCB level downgraded by Intel is seen within {@code maxAge} (default
 * 24 h) even though Intel's nextUpdate lies weeks ahead. In order, per fetch:
 *
 * <ol>
 *   <li>in the first half of the entry's life: the cached collateral;
 *   <li>in the second half: a refresh is attempted (at most once per {@link #REFRESH_RETRY}); if it
 *       fails, the cached collateral (still within its bound) is used;
 *   <li>past the bound, or with nothing cached: fetched now; a failed fetch is an error, which
 *       verifiers report as COLLATERAL_UNAVAILABLE (no stale collateral is ever served).
 * </ol>
 *
 * A fetch that returns collateral whose nextUpdate has already passed (a PCCS serving an outdated
 * copy) is a failed fetch, never cached: it neither displaces a still-valid cached copy nor turns
 * into a verdict on the quote (COLLATERAL_EXPIRED) when it is the source that is behind.
 *
 * <p>A refresh starts early so that a short outage of the PCS/PCCS at the moment of expiry does not
 * refuse every peer.
 */
public final class CachingCollateralSource implements CollateralSource {
  /** The default bound on the age of cached collateral. */
  public static final Duration DEFAULT_MAX_AGE = Duration.ofHours(24);

  /**
   * The least time between two refresh attempts of one entry while its cached copy is still usable.
   */
  public static final Duration REFRESH_RETRY = Duration.ofMinutes(1);

  private record Entry(
      Collateral collateral,
      Instant fetchedAt,
      Instant nextUpdate,
      Instant refreshAt,
      Instant staleAt,
      Instant nextAttempt) {}

  /**
   * What the cache holds now, for operators ({@code teekms kms status}, expiry gauges): how many
   * entries, the oldest fetch, and the earliest moment an entry stops being served ({@code
   * min(nextUpdate, fetch + maxAge)}) and the earliest {@code nextUpdate}. Empty optionals when
   * nothing is cached.
   */
  public record State(
      int entries,
      java.util.Optional<Instant> oldestFetch,
      java.util.Optional<Instant> earliestExpiry,
      java.util.Optional<Instant> earliestNextUpdate) {}

  private final CollateralSource delegate;
  private final Clock clock;
  private final Duration maxAge;
  private final ConcurrentHashMap<CollateralRequest, Entry> cache = new ConcurrentHashMap<>();

  /** With the default bound of 24 h. */
  public CachingCollateralSource(CollateralSource delegate, Clock clock) {
    this(delegate, clock, DEFAULT_MAX_AGE);
  }

  /**
   * @param maxAge how long a fetched copy may be used at most, whatever its nextUpdate says
   *     (positive)
   */
  public CachingCollateralSource(CollateralSource delegate, Clock clock, Duration maxAge) {
    this.delegate = Objects.requireNonNull(delegate);
    this.clock = Objects.requireNonNull(clock);
    if (maxAge.isNegative() || maxAge.isZero()) {
      throw new IllegalArgumentException("collateral max age " + maxAge + " is not positive");
    }
    this.maxAge = maxAge;
  }

  public Duration maxAge() {
    return maxAge;
  }

  @Override
  public Collateral fetch(CollateralRequest request) throws CollateralException {
    Instant now = clock.instant();
    Entry e = cache.get(request);
    if (e != null && now.isBefore(e.refreshAt())) {
      return e.collateral();
    }
    if (e != null && now.isBefore(e.staleAt())) {
      if (now.isBefore(e.nextAttempt())) {
        return e.collateral();
      }
      try {
        return fetchAndCache(request, now);
      } catch (CollateralException failed) {
        // Still within its bound: keep serving it, try again later; past the bound the next fetch
        // fails for real.
        cache.replace(
            request,
            e,
            new Entry(
                e.collateral(),
                e.fetchedAt(),
                e.nextUpdate(),
                e.refreshAt(),
                e.staleAt(),
                now.plus(REFRESH_RETRY)));
        return e.collateral();
      }
    }
    return fetchAndCache(request, now);
  }

  private Collateral fetchAndCache(CollateralRequest request, Instant now)
      throws CollateralException {
    Collateral fresh = delegate.fetch(request);
    Instant bound = now.plus(maxAge);
    Instant nextUpdate = fresh.nextUpdate();
    if (!nextUpdate.isAfter(now)) {
      throw new CollateralException(
          "the collateral source served expired collateral (nextUpdate "
              + nextUpdate
              + ", now "
              + now
              + "): refused, as if it were unreachable");
    }
    Instant staleAt = nextUpdate.isBefore(bound) ? nextUpdate : bound;
    Instant refreshAt =
        staleAt.isAfter(now) ? now.plus(Duration.between(now, staleAt).dividedBy(2)) : staleAt;
    cache.put(request, new Entry(fresh, now, nextUpdate, refreshAt, staleAt, refreshAt));
    return fresh;
  }

  /** A snapshot of the cache (see {@link State}). */
  public State state() {
    java.util.List<Entry> entries = java.util.List.copyOf(cache.values());
    return new State(
        entries.size(),
        entries.stream().map(Entry::fetchedAt).min(Instant::compareTo),
        entries.stream().map(Entry::staleAt).min(Instant::compareTo),
        entries.stream().map(Entry::nextUpdate).min(Instant::compareTo));
  }

  /** Drops every cached entry (e.g. after a TCB recovery announcement). */
  public void invalidateAll() {
    cache.clear();
  }
}
