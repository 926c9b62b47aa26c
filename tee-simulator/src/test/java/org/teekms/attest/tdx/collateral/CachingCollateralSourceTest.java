package org.teekms.attest.tdx.collateral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.teekms.attest.HandClock;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.TeeType;
import org.teekms.attest.tdx.VerificationFailure;
import org.teekms.crypto.Bytes;

/**
 * The collateral cache refreshes at a bounded age even when Intel's nextUpdate is weeks later, and
 * a refresh that keeps failing past that bound refuses (COLLATERAL_UNAVAILABLE) instead of serving
 * the old copy forever.
 */
class CachingCollateralSourceTest {
  private static final Instant T0 = Instant.parse("2030-03-01T00:00:00Z");
  private static final CollateralRequest REQUEST =
      new CollateralRequest(
          TeeType.TDX, Bytes.fromHex(SimulatedTdx.FMSPC), CollateralRequest.PckCa.PLATFORM);

  /**
   * Counts fetches; each one issues collateral valid for 30 days from the clock's time, or fails
   * when told to.
   */
  static final class CountingSource implements CollateralSource {
    final AtomicInteger fetches = new AtomicInteger();
    final AtomicBoolean down = new AtomicBoolean();
    private final SimulatedTdx tdx;
    private final Clock clock;
    private final Duration validity;

    CountingSource(SimulatedTdx tdx, Clock clock, Duration validity) {
      this.tdx = tdx;
      this.clock = clock;
      this.validity = validity;
    }

    @Override
    public Collateral fetch(CollateralRequest request) throws CollateralException {
      fetches.incrementAndGet();
      if (down.get()) {
        throw new CollateralException(
            "GET https://pccs.invalid/tdx/certification/v4/tcb: connection refused");
      }
      Instant now = clock.instant();
      return tdx.collateral(
              now.minus(Duration.ofHours(1)), now.plus(validity), "UpToDate", List.of())
          .toCollateral();
    }
  }

  private final HandClock clock = new HandClock(T0);
  private final SimulatedTdx tdx = SimulatedTdx.enable("CachingCollateralSourceTest", clock);

  @Test
  void refreshesAtTheBoundedAgeThoughNextUpdateIsWeeksAway() throws Exception {
    CountingSource pcs = new CountingSource(tdx, clock, Duration.ofDays(30));
    CachingCollateralSource cache = new CachingCollateralSource(pcs, clock, Duration.ofHours(24));
    Collateral first = cache.fetch(REQUEST);
    assertEquals(1, pcs.fetches.get());
    clock.advance(Duration.ofHours(11));
    assertSame(
        first, cache.fetch(REQUEST), "within the first half of its bound the cached copy is used");
    assertEquals(1, pcs.fetches.get());

    clock.advance(Duration.ofHours(2)); // 13 h: refresh-ahead, though nextUpdate is 30 days away
    Collateral second = cache.fetch(REQUEST);
    assertEquals(2, pcs.fetches.get());
    assertTrue(second != first, "a fresh copy replaces the old one");
    assertSame(second, cache.fetch(REQUEST));
    assertEquals(2, pcs.fetches.get());
  }

  @Test
  void stateReportsTheOldestFetchAndTheEarliestExpiry() throws Exception {
    CountingSource pcs = new CountingSource(tdx, clock, Duration.ofDays(30));
    CachingCollateralSource cache = new CachingCollateralSource(pcs, clock, Duration.ofHours(24));
    assertEquals(
        new CachingCollateralSource.State(
            0, java.util.Optional.empty(), java.util.Optional.empty(), java.util.Optional.empty()),
        cache.state(),
        "nothing cached yet");
    cache.fetch(REQUEST);
    clock.advance(Duration.ofHours(3));
    cache.fetch(
        new CollateralRequest(
            TeeType.TDX, Bytes.fromHex(SimulatedTdx.FMSPC), CollateralRequest.PckCa.PROCESSOR));
    CachingCollateralSource.State state = cache.state();
    assertEquals(2, state.entries());
    assertEquals(T0, state.oldestFetch().orElseThrow());
    // Bounded by the max age (24 h after the first fetch), not by nextUpdate 30 days later.
    assertEquals(T0.plus(Duration.ofHours(24)), state.earliestExpiry().orElseThrow());
    assertEquals(T0.plus(Duration.ofDays(30)), state.earliestNextUpdate().orElseThrow());
  }

  @Test
  void aFailedRefreshKeepsTheCopyUntilTheBoundThenRefuses() throws Exception {
    CountingSource pcs = new CountingSource(tdx, clock, Duration.ofDays(30));
    CachingCollateralSource cache = new CachingCollateralSource(pcs, clock, Duration.ofHours(24));
    Collateral first = cache.fetch(REQUEST);
    pcs.down.set(true);

    clock.advance(Duration.ofHours(13));
    assertSame(
        first, cache.fetch(REQUEST), "a failed refresh within the bound serves the cached copy");
    assertEquals(2, pcs.fetches.get());
    clock.advance(Duration.ofSeconds(30));
    assertSame(first, cache.fetch(REQUEST));
    assertEquals(2, pcs.fetches.get(), "no new attempt within REFRESH_RETRY");
    clock.advance(CachingCollateralSource.REFRESH_RETRY);
    assertSame(first, cache.fetch(REQUEST));
    assertEquals(3, pcs.fetches.get(), "tried again after REFRESH_RETRY");

    clock.advance(Duration.ofHours(11)); // past 24 h: the cached copy is never served again
    CollateralException e = assertThrows(CollateralException.class, () -> cache.fetch(REQUEST));
    assertTrue(e.getMessage().contains("connection refused"), e.getMessage());
    assertEquals(4, pcs.fetches.get());

    // ... and a verifier reports it as unavailable collateral, not as a verdict on the quote
    TdxQuote quote = TdxQuote.parse(tdx.newCvm(new byte[48], false).quote(new byte[64]));
    QuoteVerificationResult r =
        new DcapQuoteVerifier(tdx.rootCertificate()).verify(quote, cache, clock.instant());
    assertEquals(VerificationFailure.COLLATERAL_UNAVAILABLE, r.failure(), r.error());

    pcs.down.set(false); // the PCCS is back: the next fetch succeeds
    assertTrue(
        new DcapQuoteVerifier(tdx.rootCertificate()).verify(quote, cache, clock.instant()).valid());
  }

  @Test
  void aSourceServingExpiredCollateralIsUnavailableAndNeverDisplacesAValidCopy() throws Exception {
    CountingSource pcs = new CountingSource(tdx, clock, Duration.ofDays(30));
    AtomicBoolean expired = new AtomicBoolean();
    CollateralSource pccs =
        request ->
            expired.get()
                ? tdx.collateral(
                        clock.instant().minus(Duration.ofDays(31)),
                        clock.instant().minus(Duration.ofMinutes(1)),
                        "UpToDate",
                        List.of())
                    .toCollateral()
                : pcs.fetch(request);
    CachingCollateralSource cache = new CachingCollateralSource(pccs, clock, Duration.ofHours(24));
    Collateral valid = cache.fetch(REQUEST);
    expired.set(true); // the PCCS starts serving collateral whose nextUpdate has passed

    clock.advance(Duration.ofHours(13)); // refresh window: the expired answer is refused
    assertSame(valid, cache.fetch(REQUEST), "the still-valid copy keeps serving within its bound");
    TdxQuote quote = TdxQuote.parse(tdx.newCvm(new byte[48], false).quote(new byte[64]));
    assertTrue(
        new DcapQuoteVerifier(tdx.rootCertificate()).verify(quote, cache, clock.instant()).valid());

    clock.advance(Duration.ofHours(12)); // past the bound: nothing valid to serve
    CollateralException e = assertThrows(CollateralException.class, () -> cache.fetch(REQUEST));
    assertTrue(e.getMessage().contains("served expired collateral"), e.getMessage());
    // a verifier reports unavailable collateral (retry later), not an invalid quote
    QuoteVerificationResult r =
        new DcapQuoteVerifier(tdx.rootCertificate()).verify(quote, cache, clock.instant());
    assertEquals(VerificationFailure.COLLATERAL_UNAVAILABLE, r.failure(), r.error());

    expired.set(false); // the PCCS serves current collateral again: recovered without a restart
    assertTrue(
        new DcapQuoteVerifier(tdx.rootCertificate()).verify(quote, cache, clock.instant()).valid());
  }

  @Test
  void anEarlierNextUpdateStillBoundsTheCopy() throws Exception {
    CountingSource pcs = new CountingSource(tdx, clock, Duration.ofHours(4));
    CachingCollateralSource cache = new CachingCollateralSource(pcs, clock, Duration.ofHours(24));
    cache.fetch(REQUEST);
    pcs.down.set(true);
    clock.advance(
        Duration.ofHours(3)); // refresh window of a 4 h life: fails, the copy is still served
    cache.fetch(REQUEST);
    assertEquals(2, pcs.fetches.get());
    clock.advance(Duration.ofHours(1)); // nextUpdate reached
    assertThrows(CollateralException.class, () -> cache.fetch(REQUEST));
  }

  @Test
  void theDefaultBoundIsADayAndABoundMustBePositive() {
    CountingSource pcs = new CountingSource(tdx, clock, Duration.ofDays(30));
    assertEquals(Duration.ofHours(24), new CachingCollateralSource(pcs, clock).maxAge());
    assertThrows(
        IllegalArgumentException.class,
        () -> new CachingCollateralSource(pcs, clock, Duration.ZERO));
    assertThrows(
        IllegalArgumentException.class,
        () -> new CachingCollateralSource(pcs, clock, Duration.ofHours(-1)));
  }
}
