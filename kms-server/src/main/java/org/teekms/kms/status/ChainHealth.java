package org.teekms.kms.status;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Whether the chain RPC endpoints the KMS reads its policy from answer now: each endpoint is asked
 * for its chain id (must be the configured one) and its head block, all at once, each within {@code
 * timeout}. The chain is up when at least {@code quorum} endpoints answered, the number the policy
 * reader needs to decide anything (fewer: every admission is refused CHAIN_UNAVAILABLE, so the node
 * is not ready). A probe result serves for {@code reuse}, so readiness polls and status calls do
 * not hammer the providers.
 *
 * <p>Endpoints are shown as {@code scheme://host:port} only: the path and query of a provider URL
 * often carry an API key, which must not reach the health endpoint, the status RPC or a log.
 */
public final class ChainHealth implements AutoCloseable {

  /**
   * One endpoint: checks the chain id and returns the head block number, or throws with the reason.
   */
  @FunctionalInterface
  public interface Endpoint {
    long head() throws Exception;
  }

  /** One endpoint's answer. */
  public record EndpointState(String endpoint, boolean up, long head, String error) {}

  /**
   * One probe of every endpoint. {@code configured} false: no chain is configured (nothing was
   * asked).
   */
  public record State(boolean configured, int quorum, List<EndpointState> endpoints, Instant at) {
    public long up() {
      return endpoints.stream().filter(EndpointState::up).count();
    }

    public boolean healthy() {
      return configured && up() >= quorum;
    }

    /** Why the chain is not usable, in words (empty when healthy). */
    public String problem() {
      if (!configured) {
        return "no chain configured (teekms.chain.rpc-urls, chain-id, registry-address): every admission is refused "
            + "as CHAIN_UNAVAILABLE";
      }
      if (healthy()) {
        return "";
      }
      List<String> down =
          endpoints.stream()
              .filter(e -> !e.up())
              .map(e -> e.endpoint() + ": " + e.error())
              .toList();
      return up()
          + " of "
          + endpoints.size()
          + " chain RPC endpoints answered, "
          + quorum
          + " needed ("
          + String.join("; ", down)
          + ")";
    }
  }

  private final List<String> shown;
  private final List<Endpoint> endpoints;
  private final int quorum;
  private final Duration timeout;
  private final Duration reuse;
  private final Clock clock;
  private final ExecutorService pool;
  private volatile State last;

  /** No chain configured: always not healthy, nothing is probed. */
  public static ChainHealth unconfigured(Clock clock) {
    return new ChainHealth(List.of(), List.of(), 0, Duration.ofSeconds(1), Duration.ZERO, clock);
  }

  /**
   * @param urls the endpoints' URLs (only scheme, host and port are ever shown)
   * @param endpoints their probes, in the same order
   */
  public ChainHealth(
      List<String> urls,
      List<Endpoint> endpoints,
      int quorum,
      Duration timeout,
      Duration reuse,
      Clock clock) {
    if (urls.size() != endpoints.size()) {
      throw new IllegalArgumentException(
          urls.size() + " URLs for " + endpoints.size() + " endpoints");
    }
    this.shown = urls.stream().map(ChainHealth::redact).toList();
    this.endpoints = List.copyOf(endpoints);
    this.quorum = quorum;
    this.timeout = Objects.requireNonNull(timeout);
    this.reuse = Objects.requireNonNull(reuse);
    this.clock = Objects.requireNonNull(clock);
    this.pool =
        endpoints.isEmpty()
            ? null
            : Executors.newFixedThreadPool(
                endpoints.size(),
                r -> {
                  Thread t = new Thread(r, "teekms-chain-health");
                  t.setDaemon(true);
                  return t;
                });
  }

  /**
   * {@code scheme://host:port} of a URL (no user info, path or query); "endpoint N" if it does not
   * parse.
   */
  static String redact(String url) {
    try {
      URI u = URI.create(url.strip());
      if (u.getScheme() == null || u.getHost() == null) {
        return "(unparseable endpoint)";
      }
      return u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort());
    } catch (IllegalArgumentException e) {
      return "(unparseable endpoint)";
    }
  }

  /**
   * The last probe if it is younger than {@code reuse}, else a fresh one (blocking, at most about
   * {@code timeout}).
   */
  public State state() {
    State s = last;
    Instant now = clock.instant();
    if (s != null && Duration.between(s.at(), now).compareTo(reuse) < 0) {
      return s;
    }
    s = probe(now);
    last = s;
    return s;
  }

  private State probe(Instant now) {
    if (endpoints.isEmpty()) {
      return new State(false, quorum, List.of(), now);
    }
    List<CompletableFuture<Long>> asked = new ArrayList<>();
    for (Endpoint e : endpoints) {
      asked.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return e.head();
                } catch (RuntimeException x) {
                  throw x;
                } catch (Exception x) {
                  throw new java.util.concurrent.CompletionException(x);
                }
              },
              pool));
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    List<EndpointState> out = new ArrayList<>();
    for (int i = 0; i < asked.size(); i++) {
      try {
        long head =
            asked.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        out.add(new EndpointState(shown.get(i), true, head, ""));
      } catch (TimeoutException x) {
        asked.get(i).cancel(true);
        out.add(
            new EndpointState(
                shown.get(i), false, 0, "no answer within " + timeout.toMillis() + " ms"));
      } catch (InterruptedException x) {
        Thread.currentThread().interrupt();
        out.add(new EndpointState(shown.get(i), false, 0, "interrupted"));
      } catch (java.util.concurrent.ExecutionException x) {
        out.add(new EndpointState(shown.get(i), false, 0, reason(x.getCause())));
      }
    }
    return new State(true, quorum, List.copyOf(out), now);
  }

  /** The failure's kind in words, without its message's URL (which may hold an API key). */
  static String reason(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.net.ConnectException) {
        return "connection refused";
      }
      if (c instanceof java.net.UnknownHostException) {
        return "unknown host";
      }
      if (c instanceof java.net.http.HttpTimeoutException
          || c instanceof java.net.SocketTimeoutException) {
        return "timed out";
      }
      if (c instanceof org.teekms.governance.GovernanceException g
          && g.kind() == org.teekms.governance.GovernanceException.Kind.WRONG_CHAIN) {
        return "serves another chain id";
      }
    }
    return "no valid answer (" + (t == null ? "unknown" : t.getClass().getSimpleName()) + ")";
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }
}
