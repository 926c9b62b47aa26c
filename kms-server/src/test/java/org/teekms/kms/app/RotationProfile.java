package org.teekms.kms.app;

import java.util.Map;

/**
 * As deployed (RA-TLS server), fast rotation polling, a long root grace so the retired generation
 * is retained.
 */
public class RotationProfile extends DeployedProfile {

  static final int PORT = TestPorts.free("rotation");

  public RotationProfile() {
    super("kms-rotate-it", PORT);
  }

  @Override
  Map<String, String> overrides() {
    return Map.of(
        "teekms.rotation.poll-interval", "1s",
        "teekms.rotation.root-grace", "1h",
        "teekms.rotation.app-batch", "2");
  }
}
