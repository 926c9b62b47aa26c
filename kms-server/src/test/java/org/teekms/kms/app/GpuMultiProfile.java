package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * {@link GpuProfile} as deployed for many GPUs: OCSP answers cached (one round trip per certificate
 * until stale).
 */
public class GpuMultiProfile implements QuarkusTestProfile {

  static final int PORT = TestPorts.BASE + 7;
  static final int OCSP_PORT = TestPorts.BASE + 8;

  @Override
  public Map<String, String> getConfigOverrides() {
    return Map.of(
        "quarkus.http.tls-configuration-name", "ratls",
        "quarkus.http.ssl.client-auth", "request",
        "quarkus.http.insecure-requests", "disabled",
        "quarkus.http.test-ssl-port", String.valueOf(PORT),
        "teekms.simulator.seed", RaTlsProfile.SEED,
        "teekms.kms-id", "kms-gpu8-it",
        "teekms.gpu.verification", "simulator",
        "teekms.gpu.ocsp.responder-url", "http://127.0.0.1:" + OCSP_PORT + "/",
        // Eight GPUs verified cold (first OCSP answers) on a loaded 2-core test machine take
        // several seconds.
        "quarkus.tls.ratls.handshake-timeout", "60s");
  }
}
