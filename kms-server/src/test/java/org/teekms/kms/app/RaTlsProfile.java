package org.teekms.kms.app;

import java.util.Set;

/**
 * The server as deployed: gRPC over TLS only, RA-TLS certificates both ways (simulated TDX, fixed
 * seed).
 */
public class RaTlsProfile extends DeployedProfile {

  public static final String SEED = "00112233445566778899aabbccddeeff";
  static final int PORT = TestPorts.free("ratls");

  public RaTlsProfile() {
    super("kms-ratls-it", PORT);
  }

  @Override
  public Set<Class<?>> getEnabledAlternatives() {
    return Set.of(FakeChainPolicy.class);
  }
}
