package org.teekms.kms.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.teekms.governance.GovernanceException;

/**
 * Readiness follows the chain: up only while a quorum of RPC endpoints answers with the configured
 * chain id, a hung endpoint counts as down after the timeout, and no URL path or query (provider
 * API keys) is ever shown.
 */
class ChainHealthTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2030-01-01T00:00:00Z"), ZoneOffset.UTC);
  private static final List<String> URLS =
      List.of(
          "https://eth.provider-a.example/v3/SECRETKEY",
          "https://user:pw@rpc.provider-b.example:8545/path?apikey=SECRET2",
          "http://127.0.0.1:1");

  private static ChainHealth health(List<ChainHealth.Endpoint> endpoints, int quorum) {
    return new ChainHealth(URLS, endpoints, quorum, Duration.ofMillis(300), Duration.ZERO, CLOCK);
  }

  @Test
  void aQuorumOfAnsweringEndpointsIsHealthy() {
    try (ChainHealth h =
        health(
            List.of(
                () -> 100,
                () -> 101,
                () -> {
                  throw new ConnectException("Connection refused: http://127.0.0.1:1");
                }),
            2)) {
      ChainHealth.State s = h.state();
      assertTrue(s.healthy(), s.problem());
      assertEquals(2, s.up());
      assertEquals(101, s.endpoints().get(1).head());
      assertEquals("connection refused", s.endpoints().get(2).error());
      assertEquals("", s.problem());
    }
  }

  @Test
  void belowTheQuorumIsNotReadyAndSaysWhichEndpointsFailed() {
    try (ChainHealth h =
        health(
            List.of(
                () -> 100,
                () -> {
                  throw new GovernanceException(
                      GovernanceException.Kind.WRONG_CHAIN, "chain id 1, expected 31337");
                },
                () -> {
                  throw new ConnectException("refused");
                }),
            2)) {
      ChainHealth.State s = h.state();
      assertFalse(s.healthy());
      assertEquals(
          "1 of 3 chain RPC endpoints answered, 2 needed (https://rpc.provider-b.example:8545: serves "
              + "another chain id; http://127.0.0.1:1: connection refused)",
          s.problem());
    }
  }

  @Test
  void aHungEndpointIsDownAfterTheTimeout() throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    try (ChainHealth h =
        health(
            List.of(
                () -> 7,
                () -> {
                  never.await();
                  return 8;
                },
                () -> 9),
            3)) {
      long start = System.nanoTime();
      ChainHealth.State s = h.state();
      assertTrue(
          Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(5)) < 0,
          "bounded wait");
      assertFalse(s.healthy());
      assertEquals("no answer within 300 ms", s.endpoints().get(1).error());
      assertTrue(s.endpoints().get(0).up() && s.endpoints().get(2).up());
    }
  }

  @Test
  void noUrlPathQueryOrUserInfoIsEverShown() {
    try (ChainHealth h =
        health(
            List.of(
                () -> {
                  throw new java.io.IOException(
                      "POST https://eth.provider-a.example/v3/SECRETKEY failed");
                },
                () -> {
                  throw new IllegalStateException(
                      "https://user:pw@rpc.provider-b.example:8545/path?apikey=SECRET2");
                },
                () -> 1),
            2)) {
      String shown = h.state().toString() + h.state().problem();
      assertFalse(shown.contains("SECRET"), shown);
      assertFalse(shown.contains("pw@"), shown);
      assertTrue(shown.contains("https://eth.provider-a.example"), shown);
    }
    assertEquals("(unparseable endpoint)", ChainHealth.redact("not a url"));
    assertEquals("(unparseable endpoint)", ChainHealth.redact("http://[bad"));
  }

  @Test
  void anUnconfiguredChainIsNeverReady() {
    try (ChainHealth h = ChainHealth.unconfigured(CLOCK)) {
      assertFalse(h.state().healthy());
      assertTrue(h.state().problem().contains("CHAIN_UNAVAILABLE"), h.state().problem());
    }
  }

  @Test
  void aProbeIsReusedForItsReusePeriodOnly() {
    AtomicInteger asked = new AtomicInteger();
    MutableClock clock = new MutableClock();
    try (ChainHealth h =
        new ChainHealth(
            List.of("http://a:1"),
            List.of(() -> asked.incrementAndGet()),
            1,
            Duration.ofSeconds(1),
            Duration.ofSeconds(5),
            clock)) {
      assertEquals(1, h.state().endpoints().get(0).head());
      clock.now = clock.now.plusSeconds(4);
      assertEquals(1, h.state().endpoints().get(0).head(), "reused within 5 s");
      clock.now = clock.now.plusSeconds(1);
      assertEquals(2, h.state().endpoints().get(0).head(), "probed again after 5 s");
    }
  }

  private static final class MutableClock extends Clock {
    Instant now = Instant.parse("2030-01-01T00:00:00Z");

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
