package org.teekms.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.util.stream.Stream;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One wording for every network failure, found along the cause chain; anything else keeps its
 * message.
 */
class NetworkErrorsTest {

  static Stream<Arguments> failures() {
    return Stream.of(
        Arguments.of(
            new ConnectException("Connection refused"),
            "connection refused (nothing listens there, or a firewall rejects it)"),
        Arguments.of(new UnknownHostException("pccs.example"), "unknown host pccs.example"),
        Arguments.of(new NoRouteToHostException("No route to host"), "no route to host"),
        Arguments.of(new SocketTimeoutException("Read timed out"), "timed out"),
        Arguments.of(new HttpConnectTimeoutException("HTTP connect timed out"), "timed out"),
        Arguments.of(
            new SSLHandshakeException("PKIX path building failed"),
            "TLS failed: PKIX path building failed"),
        Arguments.of(
            new IOException("wrapped", new ConnectException("Connection refused")),
            "connection refused (nothing listens there, or a firewall rejects it)"),
        Arguments.of(
            new UncheckedIOException(new IOException("disk full")),
            "java.io.IOException: disk full"),
        Arguments.of(new IllegalStateException(), "IllegalStateException"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("failures")
  void saysWhyInWordsWithoutJavaNames(Throwable failure, String words) {
    assertEquals(words, NetworkErrors.inWords(failure));
  }

  @Test
  void onlyNetworkFailuresHaveACause() {
    assertTrue(NetworkErrors.cause(new IOException("disk full")).isEmpty());
    assertTrue(
        NetworkErrors.words(new IOException("x", new ConnectException())).isEmpty(),
        "causes are not looked at");
  }

  @Test
  void aCauseCycleEnds() {
    IOException a = new IOException("a");
    IOException b = new IOException("b", a);
    a.initCause(b);
    assertTrue(NetworkErrors.cause(a).isEmpty());
  }
}
