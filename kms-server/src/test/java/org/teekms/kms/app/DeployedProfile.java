package org.teekms.kms.app;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.HashMap;
import java.util.Map;

/**
 * The server as deployed, for a test profile: gRPC over TLS only with RA-TLS certificates ({@code
 * ratls}; clients asked for theirs), on an ephemeral loopback port ({@link TestPorts}), as node
 * {@code kmsId}, TDX simulated under {@link RaTlsProfile#SEED} unless the profile says otherwise. A
 * profile names its node and port and adds its own keys ({@link #overrides()}), which win.
 */
public abstract class DeployedProfile implements QuarkusTestProfile {
  private final String kmsId;
  private final int port;

  DeployedProfile(String kmsId, int port) {
    this.kmsId = kmsId;
    this.port = port;
  }

  /** This profile's own keys. */
  Map<String, String> overrides() {
    return Map.of();
  }

  /** {@code false} for a profile that brings its own TDX (no simulator seed). */
  boolean simulatedTdx() {
    return true;
  }

  @Override
  public final Map<String, String> getConfigOverrides() {
    Map<String, String> m = new HashMap<>();
    m.put("quarkus.http.tls-configuration-name", "ratls");
    m.put("quarkus.http.ssl.client-auth", "request");
    m.put("quarkus.http.insecure-requests", "disabled");
    m.put("quarkus.http.test-ssl-port", String.valueOf(port));
    if (simulatedTdx()) {
      m.put("teekms.simulator.seed", RaTlsProfile.SEED);
    }
    m.put("teekms.kms-id", kmsId);
    m.putAll(overrides());
    return m;
  }
}
