package org.teekms.kms.app;

/**
 * Fixed loopback ports of the Quarkus test profiles, relative to {@code -Dteekms-test-port-base}
 * (default 18943), so two checkouts can run their tests on one machine at the same time.
 */
final class TestPorts {
  static final int BASE = Integer.getInteger("teekms-test-port-base", 18943);

  private TestPorts() {}
}
