package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * As deployed (RA-TLS server, simulated TDX), a node of a lost deployment that recovers its root
 * from custodians.
 */
public class RecoveryProfile implements QuarkusTestProfile {

  static final int PORT = TestPorts.BASE + 21;

  @Override
  public Map<String, String> getConfigOverrides() {
    return Map.of(
        "quarkus.http.tls-configuration-name", "ratls",
        "quarkus.http.ssl.client-auth", "request",
        "quarkus.http.insecure-requests", "disabled",
        "quarkus.http.test-ssl-port", String.valueOf(PORT),
        "teekms.simulator.seed", RaTlsProfile.SEED,
        "teekms.kms-id", "kms-recovery-it");
  }
}
