package org.teekms.kms.app;

import java.util.Map;
import java.util.Set;

/**
 * As deployed (RA-TLS both ways, simulated TDX) with small per-source budgets, so a test can flood
 * from one loopback address (127.0.0.2) while legitimate CVMs connect from another (127.0.0.1).
 */
public class FloodProfile extends DeployedProfile {

  static final int PORT = TestPorts.free("flood");
  static final int UNAUTHENTICATED_BURST = 20;
  static final int HANDSHAKE_BURST = 10;
  static final int CLAIMED_REFUSAL_BURST = 5;

  public FloodProfile() {
    super("kms-flood-it", PORT);
  }

  @Override
  Map<String, String> overrides() {
    return Map.of(
        "teekms.limits.unauthenticated-requests-per-minute",
        "30",
        "teekms.limits.unauthenticated-burst",
        String.valueOf(UNAUTHENTICATED_BURST),
        "teekms.limits.handshakes-per-minute",
        "30",
        "teekms.limits.handshake-burst",
        String.valueOf(HANDSHAKE_BURST),
        "teekms.audit.claimed-refusals-per-minute",
        "6",
        "teekms.audit.claimed-refusal-burst",
        String.valueOf(CLAIMED_REFUSAL_BURST));
  }

  @Override
  public Set<Class<?>> getEnabledAlternatives() {
    return Set.of(FakeChainPolicy.class);
  }
}
