package org.teekms.kms.app;

import java.util.Map;

/**
 * As deployed (RA-TLS server) with GPU verification under the GPU simulator's roots (derived from
 * the shared seed), the simulator's RIMs, and fail-closed OCSP at a local responder the test runs
 * on {@link #OCSP_PORT}.
 */
public class GpuProfile extends DeployedProfile {

  static final int PORT = TestPorts.free("gpu");
  static final int OCSP_PORT = TestPorts.free("gpu-ocsp");

  public GpuProfile() {
    super("kms-gpu-it", PORT);
  }

  @Override
  Map<String, String> overrides() {
    return Map.of(
        "teekms.gpu.verification", "simulator",
        "teekms.gpu.ocsp.responder-url", "http://127.0.0.1:" + OCSP_PORT + "/",
        "teekms.gpu.ocsp.timeout", "2s",
        // No OCSP cache: each admission asks the responder, so revocation and outage take effect
        // within the test.
        "teekms.gpu.ocsp.cache-size", "0",
        // Eight GPUs without an OCSP cache are ~60 OCSP round trips inside one handshake on a
        // loaded test machine.
        "quarkus.tls.ratls.handshake-timeout", "120s");
  }
}
