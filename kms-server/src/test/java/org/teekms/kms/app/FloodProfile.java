package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;
import java.util.Set;

/**
 * As deployed (RA-TLS both ways, simulated TDX) with small per-source budgets, so a test can flood
 * from one loopback address (127.0.0.2) while legitimate CVMs connect from another (127.0.0.1).
 */
public class FloodProfile implements QuarkusTestProfile {

  static final int PORT = TestPorts.BASE + 15;
  static final int UNAUTHENTICATED_BURST = 20;
  static final int HANDSHAKE_BURST = 10;
  static final int CLAIMED_REFUSAL_BURST = 5;

  @Override
  public Map<String, String> getConfigOverrides() {
    return Map.ofEntries(
        Map.entry("quarkus.http.tls-configuration-name", "ratls"),
        Map.entry("quarkus.http.ssl.client-auth", "request"),
        Map.entry("quarkus.http.insecure-requests", "disabled"),
        Map.entry("quarkus.http.test-ssl-port", String.valueOf(PORT)),
        Map.entry("teekms.simulator.seed", RaTlsProfile.SEED),
        Map.entry("teekms.kms-id", "kms-flood-it"),
        Map.entry("teekms.limits.unauthenticated-requests-per-minute", "30"),
        Map.entry("teekms.limits.unauthenticated-burst", String.valueOf(UNAUTHENTICATED_BURST)),
        Map.entry("teekms.limits.handshakes-per-minute", "30"),
        Map.entry("teekms.limits.handshake-burst", String.valueOf(HANDSHAKE_BURST)),
        Map.entry("teekms.audit.claimed-refusals-per-minute", "6"),
        Map.entry("teekms.audit.claimed-refusal-burst", String.valueOf(CLAIMED_REFUSAL_BURST)));
  }

  @Override
  public Set<Class<?>> getEnabledAlternatives() {
    return Set.of(FakeChainPolicy.class);
  }
}
