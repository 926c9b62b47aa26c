package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * As deployed (RA-TLS server) with GPU verification under the GPU simulator's roots (derived from
 * the shared seed), the simulator's RIMs, and fail-closed OCSP at a local responder the test runs
 * on {@link #OCSP_PORT}.
 */
public class GpuProfile implements QuarkusTestProfile {

  static final int PORT = TestPorts.BASE + 5;
  static final int OCSP_PORT = TestPorts.BASE + 6;

  @Override
  public Map<String, String> getConfigOverrides() {
    return Map.ofEntries(
        Map.entry("quarkus.http.tls-configuration-name", "ratls"),
        Map.entry("quarkus.http.ssl.client-auth", "request"),
        Map.entry("quarkus.http.insecure-requests", "disabled"),
        Map.entry("quarkus.http.test-ssl-port", String.valueOf(PORT)),
        Map.entry("teekms.simulator.seed", RaTlsProfile.SEED),
        Map.entry("teekms.kms-id", "kms-gpu-it"),
        Map.entry("teekms.gpu.verification", "simulator"),
        Map.entry("teekms.gpu.ocsp.responder-url", "http://127.0.0.1:" + OCSP_PORT + "/"),
        Map.entry("teekms.gpu.ocsp.timeout", "2s"),
        // No OCSP cache: each admission asks the responder, so revocation and outage take effect
        // within the test.
        Map.entry("teekms.gpu.ocsp.cache-size", "0"),
        // Eight GPUs without an OCSP cache are ~60 OCSP round trips inside one handshake on a
        // loaded test machine.
        Map.entry("quarkus.tls.ratls.handshake-timeout", "120s"));
  }
}
