package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;
import java.util.Set;

/**
 * The server as deployed: gRPC over TLS only, RA-TLS certificates both ways (simulated TDX, fixed
 * seed).
 */
public class RaTlsProfile implements QuarkusTestProfile {

  public static final String SEED = "00112233445566778899aabbccddeeff";
  static final int PORT = TestPorts.BASE + 1;

  @Override
  public Map<String, String> getConfigOverrides() {
    return Map.of(
        "quarkus.http.tls-configuration-name", "ratls",
        "quarkus.http.ssl.client-auth", "request",
        "quarkus.http.insecure-requests", "disabled",
        "quarkus.http.test-ssl-port", String.valueOf(PORT),
        "teekms.simulator.seed", SEED,
        "teekms.kms-id", "kms-ratls-it");
  }

  @Override
  public Set<Class<?>> getEnabledAlternatives() {
    return Set.of(FakeChainPolicy.class);
  }
}
