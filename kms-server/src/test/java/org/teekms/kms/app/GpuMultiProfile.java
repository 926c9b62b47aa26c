package org.teekms.kms.app;

import java.util.Map;

/**
 * {@link GpuProfile} as deployed for many GPUs: OCSP answers cached (one round trip per certificate
 * until stale).
 */
public class GpuMultiProfile extends DeployedProfile {

  static final int PORT = TestPorts.free("gpu8");
  static final int OCSP_PORT = TestPorts.free("gpu8-ocsp");

  public GpuMultiProfile() {
    super("kms-gpu8-it", PORT);
  }

  @Override
  Map<String, String> overrides() {
    return Map.of(
        "teekms.gpu.verification", "simulator",
        "teekms.gpu.ocsp.responder-url", "http://127.0.0.1:" + OCSP_PORT + "/",
        // Eight GPUs verified cold (first OCSP answers) on a loaded 2-core test machine take
        // several seconds.
        "quarkus.tls.ratls.handshake-timeout", "60s");
  }
}
