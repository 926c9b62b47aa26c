package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** As deployed (RA-TLS server), for the auditor-side audit checks (AuditRecomputeRaTlsTest). */
public class AuditProfile implements QuarkusTestProfile {

  static final int PORT = TestPorts.BASE + 13;

  @Override
  public Map<String, String> getConfigOverrides() {
    return Map.of(
        "quarkus.http.tls-configuration-name", "ratls",
        "quarkus.http.ssl.client-auth", "request",
        "quarkus.http.insecure-requests", "disabled",
        "quarkus.http.test-ssl-port", String.valueOf(PORT),
        "teekms.simulator.seed", RaTlsProfile.SEED,
        "teekms.kms-id", "kms-audit-it");
  }
}
