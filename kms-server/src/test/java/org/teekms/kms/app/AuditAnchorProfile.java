package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** As deployed (RA-TLS server) on a real chain (anvil), anchoring the audit head every second. */
public class AuditAnchorProfile implements QuarkusTestProfile {

  static final int PORT = TestPorts.BASE + 14;

  @Override
  public Map<String, String> getConfigOverrides() {
    return Map.of(
        "quarkus.http.tls-configuration-name", "ratls",
        "quarkus.http.ssl.client-auth", "request",
        "quarkus.http.insecure-requests", "disabled",
        "quarkus.http.test-ssl-port", String.valueOf(PORT),
        "teekms.simulator.seed", RaTlsProfile.SEED,
        "teekms.kms-id", "kms-anchor-it",
        "teekms.chain.allow-single-rpc", "true",
        "teekms.audit.anchor-interval", "1s");
  }
}
