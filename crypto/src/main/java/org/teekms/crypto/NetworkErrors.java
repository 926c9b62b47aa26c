package org.teekms.crypto;

import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Network failures in one wording, for people (CLI output, collateral and chain errors, refusal
 * details): why a connection failed, without Java class names. The endpoint is not repeated: the
 * caller's message names it. Here, in the lowest module, so the CLI, the collateral client and the
 * chain client say the same thing.
 */
public final class NetworkErrors {
  /** The words of a timeout (callers that know the deadline say more). */
  public static final String TIMED_OUT = "timed out";

  private NetworkErrors() {}

  /**
   * {@code failure} alone in words when it is a network failure (its causes are not looked at),
   * else empty.
   */
  public static Optional<String> words(Throwable failure) {
    String m = failure.getMessage();
    if (failure instanceof ConnectException) {
      return Optional.of("connection refused (nothing listens there, or a firewall rejects it)");
    }
    if (failure instanceof UnknownHostException) {
      return Optional.of("unknown host " + m);
    }
    if (failure instanceof NoRouteToHostException) {
      return Optional.of("no route to host");
    }
    if (failure instanceof HttpTimeoutException || failure instanceof InterruptedIOException) {
      return Optional.of(TIMED_OUT);
    }
    if (failure instanceof SSLException) {
      return Optional.of("TLS failed: " + m);
    }
    return Optional.empty();
  }

  /**
   * The first network failure along {@code failure}'s cause chain, in words; empty when there is
   * none.
   */
  public static Optional<String> cause(Throwable failure) {
    Map<Throwable, Boolean> seen = new IdentityHashMap<>();
    for (Throwable c = failure; c != null && seen.put(c, true) == null; c = c.getCause()) {
      Optional<String> w = words(c);
      if (w.isPresent()) {
        return w;
      }
    }
    return Optional.empty();
  }

  /** {@link #cause}, else the failure's own message, else its class's simple name (never null). */
  public static String inWords(Throwable failure) {
    return cause(failure)
        .orElseGet(
            () ->
                failure.getMessage() != null
                    ? failure.getMessage()
                    : failure.getClass().getSimpleName());
  }
}
