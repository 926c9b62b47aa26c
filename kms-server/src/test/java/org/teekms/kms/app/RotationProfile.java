package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * As deployed (RA-TLS server), fast rotation polling, a long root grace so the retired generation
 * is retained.
 */
public class RotationProfile implements QuarkusTestProfile {

  static final int PORT = TestPorts.BASE + 2;

  @Override
  public Map<String, String> getConfigOverrides() {
    return Map.of(
        "quarkus.http.tls-configuration-name", "ratls",
        "quarkus.http.ssl.client-auth", "request",
        "quarkus.http.insecure-requests", "disabled",
        "quarkus.http.test-ssl-port", String.valueOf(PORT),
        "teekms.simulator.seed", RaTlsProfile.SEED,
        "teekms.kms-id", "kms-rotate-it",
        "teekms.rotation.poll-interval", "1s",
        "teekms.rotation.root-grace", "1h",
        "teekms.rotation.app-batch", "2");
  }
}
