package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * As deployed (RA-TLS server) with GPU verification under the GPU simulator's roots (derived from the shared seed),
 * the simulator's RIMs, and fail-closed OCSP at a local responder the test runs on {@link #OCSP_PORT}.
 */
public class GpuProfile implements QuarkusTestProfile {

  static final int PORT = TestPorts.BASE + 5;
  static final int OCSP_PORT = TestPorts.BASE + 6;

  @Override
  public Map<String, String> getConfigOverrides() {
    return Map.of(
        "quarkus.http.tls-configuration-name", "ratls",
        "quarkus.http.ssl.client-auth", "request",
        "quarkus.http.insecure-requests", "disabled",
        "quarkus.http.test-ssl-port", String.valueOf(PORT),
        "teekms.simulator.seed", RaTlsProfile.SEED,
        "teekms.kms-id", "kms-gpu-it",
        "teekms.gpu.verification", "simulator",
        "teekms.gpu.ocsp.responder-url", "http://127.0.0.1:" + OCSP_PORT + "/",
        "teekms.gpu.ocsp.timeout", "2s",
        // No OCSP cache: each admission asks the responder, so revocation and outage take effect within the test.
        "teekms.gpu.ocsp.cache-size", "0");
  }
}
