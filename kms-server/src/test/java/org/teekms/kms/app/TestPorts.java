package org.teekms.kms.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.function.Supplier;

/**
 * Loopback ports of the Quarkus test profiles: each one a port the kernel had free when first asked
 * for (ephemeral), so two checkouts, or a test and anything else on the machine, do not collide.
 * The default profile's plain-text port stays fixed in application.properties ({@code
 * -Dteekms-test-port-base}).
 *
 * <p>A profile class is loaded twice, by the test's class loader and by Quarkus's, and each copy
 * must see the same port: the choice lives in a system property, which every class loader of the
 * test JVM shares.
 */
final class TestPorts {
  private TestPorts() {}

  /** The port named {@code name} in this JVM, chosen free on first use. */
  static int free(String name) {
    return Integer.parseInt(
        shared(
            "teekms-test.port." + name,
            () -> {
              try (ServerSocket s = new ServerSocket(0)) {
                return String.valueOf(s.getLocalPort());
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            }));
  }

  /** The value of the system property {@code key}, set to {@code initial} on first use. */
  static synchronized String shared(String key, Supplier<String> initial) {
    String v = System.getProperty(key);
    if (v == null) {
      v = initial.get();
      System.setProperty(key, v);
    }
    return v;
  }
}
