package org.teekms.agent.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SignatureStoreTest {
  static final class MutableClock extends Clock {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public ZoneOffset getZone() {
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

  static SignedResponse s(String text) {
    return new SignedResponse(text, "0xsig", "0xaddr", "ecdsa");
  }

  @Test
  void boundedOldestFirstAndExpiring() throws Exception {
    MutableClock clock = new MutableClock();
    SignatureStore store = new SignatureStore(3, Duration.ofMinutes(5), clock);
    for (int i = 0; i < 5; i++) {
      store.put("c" + i, s("t" + i));
    }
    assertEquals(3, store.size());
    assertEquals(Optional.empty(), store.get("c0", Duration.ZERO));
    assertEquals("t4", store.get("c4", Duration.ZERO).get().text());
    clock.now = clock.now.plus(Duration.ofMinutes(6));
    assertEquals(Optional.empty(), store.get("c4", Duration.ZERO));
    assertEquals(0, store.size());
  }

  @Test
  void aPendingSignatureIsAwaitedAndAnAbandonedOneIsNot() throws Exception {
    SignatureStore store = new SignatureStore(10, Duration.ofMinutes(5), Clock.systemUTC());
    store.pending("chat");
    CompletableFuture<Optional<SignedResponse>> waiter =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return store.get("chat", Duration.ofSeconds(10));
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    Thread.sleep(50);
    store.put("chat", s("done"));
    assertEquals("done", waiter.get().get().text());
    store.pending("gone");
    store.abandon("gone");
    assertEquals(Optional.empty(), store.get("gone", Duration.ofMillis(10)));
    store.pending("slow");
    assertEquals(Optional.empty(), store.get("slow", Duration.ofMillis(20)), "a wait is bounded");
  }

  @Test
  void sseChatIdFindsTheFirstEventIdAcrossChunkBoundaries() {
    SseChatId sniffer = new SseChatId();
    byte[] stream =
        ("data: {\"id\":\"chatcmpl-9\",\"choices\":[]}\r\n\r\ndata: [DONE]\n\n")
            .getBytes(StandardCharsets.UTF_8);
    Optional<String> found = Optional.empty();
    for (int i = 0; i < stream.length && found.isEmpty(); i += 3) {
      found = sniffer.feed(java.util.Arrays.copyOfRange(stream, i, Math.min(stream.length, i + 3)));
    }
    assertEquals("chatcmpl-9", found.get());
    SseChatId none = new SseChatId();
    assertTrue(
        none.feed("data: [DONE]\n\n: comment\n\n".getBytes(StandardCharsets.UTF_8)).isEmpty());
    SseChatId big = new SseChatId();
    assertTrue(big.feed(new byte[SseChatId.MAX_SCAN + 10]).isEmpty());
    assertTrue(
        big.feed("data: {\"id\":\"late\"}\n\n".getBytes(StandardCharsets.UTF_8)).isEmpty(),
        "gives up after the scan limit");
  }
}
