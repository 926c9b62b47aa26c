package org.teekms.kms.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.teekms.kms.MutableClock;

/**
 * The KMS's clock against the chain's latest block: which side of the allowance, which clock is to
 * blame, and that admission's non-blocking view never waits on the chain.
 */
class ClockSkewProbeTest {
  private static final Duration ALLOWANCE = Duration.ofMinutes(10);
  private final Instant chainNow = Instant.parse("2026-12-03T08:00:00Z");

  private ClockSkewProbe probe(Duration kmsSkew, ClockSkewProbe.ChainClock chain) {
    return new ClockSkewProbe(
        chain,
        ALLOWANCE,
        Duration.ofSeconds(30),
        new MutableClock(chainNow.plus(kmsSkew).toEpochMilli()),
        Runnable::run);
  }

  private ClockSkewProbe.ChainClock block(long number) {
    return () -> new ClockSkewProbe.Head(number, chainNow);
  }

  @Test
  void aKmsBehindTheChainBeyondTheAllowanceIsCertainlyBehind() {
    ClockSkewProbe.Reading r = probe(Duration.ofMinutes(-11), block(9)).read();
    assertTrue(r.known());
    assertEquals(Duration.ofMinutes(-11), r.skew());
    assertTrue(r.kmsBehind());
    assertFalse(r.kmsAhead());
    assertFalse(r.withinAllowance());
    assertEquals(
        "this node's clock is 11 min behind the chain's latest block (9 at 2026-12-03T08:00:00Z),"
            + " more than the 10 min allowance (teekms.ratls.clock-skew-allowance): clients' fresh"
            + " certificates look not yet valid to it; fix this node's clock (NTP)",
        r.problem());
  }

  @Test
  void aKmsAheadBeyondTheAllowanceIsReportedWithTheIdleChainCaveat() {
    ClockSkewProbe.Reading r = probe(Duration.ofMinutes(12).plusSeconds(5), block(9)).read();
    assertTrue(r.kmsAhead());
    assertFalse(r.kmsBehind());
    assertTrue(r.problem().startsWith("this node's clock is 12 min 5 s ahead"), r.problem());
    assertTrue(r.problem().endsWith("or the chain has made no block for that long"), r.problem());
  }

  @Test
  void withinTheAllowanceOnBothSidesNothingIsWrong() {
    for (Duration skew : List.of(Duration.ofMinutes(-10), Duration.ZERO, Duration.ofMinutes(10))) {
      ClockSkewProbe.Reading r = probe(skew, block(1)).read();
      assertTrue(r.withinAllowance(), skew.toString());
      assertEquals("", r.problem());
    }
  }

  @Test
  void aChainThatCannotBeReadLeavesTheSkewUnknownAndBlamesNoClock() {
    ClockSkewProbe p =
        probe(
            Duration.ofHours(-5),
            () -> {
              throw new IllegalStateException("only 1 of 3 RPC endpoints reported\nsecond line");
            });
    ClockSkewProbe.Reading r = p.read();
    assertFalse(r.known());
    assertFalse(r.kmsBehind());
    assertFalse(r.kmsAhead());
    assertFalse(r.withinAllowance());
    assertEquals(
        "clock skew unknown: the chain's latest block could not be read: only 1 of 3 RPC"
            + " endpoints reported",
        r.problem());
    assertTrue(Double.isNaN(p.skewSeconds()));
    ClockSkewProbe none =
        new ClockSkewProbe(
            null, ALLOWANCE, Duration.ofSeconds(30), new MutableClock(0), Runnable::run);
    assertEquals("clock skew unknown: no chain configured (teekms.chain.*)", none.read().problem());
  }

  @Test
  void readingsAreReusedAndTheNonBlockingViewRefreshesAStaleOneInTheBackground() {
    AtomicInteger asked = new AtomicInteger();
    MutableClock kms = new MutableClock(chainNow.minus(Duration.ofMinutes(20)).toEpochMilli());
    List<Runnable> queued = new ArrayList<>();
    ClockSkewProbe p =
        new ClockSkewProbe(
            () -> new ClockSkewProbe.Head(asked.incrementAndGet(), chainNow),
            ALLOWANCE,
            Duration.ofSeconds(30),
            kms,
            queued::add);
    assertTrue(p.last().isEmpty(), "no reading yet, and the call did not wait for the chain");
    assertEquals(0, asked.get());
    assertEquals(1, queued.size(), "a refresh was started in the background");
    p.last();
    assertEquals(1, queued.size(), "one refresh at a time");
    queued.remove(0).run();
    assertEquals(1, asked.get());
    assertTrue(p.last().get().kmsBehind());
    assertEquals(-1200.0, p.skewSeconds());

    p.read();
    assertEquals(1, asked.get(), "reused within 30 s");
    kms.advance(Duration.ofSeconds(31));
    AtomicReference<ClockSkewProbe.Reading> stale = new AtomicReference<>(p.last().get());
    assertEquals(1, stale.get().head().get().number(), "the stale reading is returned as is");
    assertEquals(1, queued.size());
    queued.remove(0).run();
    assertEquals(2, p.last().get().head().get().number());
  }
}
