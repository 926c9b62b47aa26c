package org.teekms.attest.tdx.collateral;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Caches collateral per request (TEE type, FMSPC, PCK CA) until its earliest {@code nextUpdate}, so that verifying a
 * quote needs no network access while the collateral is current. Stale entries are fetched again; a failed fetch
 * is an error (no stale collateral is served).
 */
public final class CachingCollateralSource implements CollateralSource {
  private record Entry(Collateral collateral, Instant staleAt) {}

  private final CollateralSource delegate;
  private final Clock clock;
  private final ConcurrentHashMap<CollateralRequest, Entry> cache = new ConcurrentHashMap<>();

  public CachingCollateralSource(CollateralSource delegate, Clock clock) {
    this.delegate = delegate;
    this.clock = clock;
  }

  @Override
  public Collateral fetch(CollateralRequest request) throws CollateralException {
    Entry e = cache.get(request);
    if (e != null && clock.instant().isBefore(e.staleAt())) {
      return e.collateral();
    }
    Collateral fresh = delegate.fetch(request);
    cache.put(request, new Entry(fresh, fresh.nextUpdate()));
    return fresh;
  }

  /** Drops every cached entry (e.g. after a TCB recovery announcement). */
  public void invalidateAll() {
    cache.clear();
  }
}
