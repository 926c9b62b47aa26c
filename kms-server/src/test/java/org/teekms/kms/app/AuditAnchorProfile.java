package org.teekms.kms.app;

import java.util.Map;

/** As deployed (RA-TLS server) on a real chain (anvil), anchoring the audit head every second. */
public class AuditAnchorProfile extends DeployedProfile {

  static final int PORT = TestPorts.free("audit-anchor");

  public AuditAnchorProfile() {
    super("kms-anchor-it", PORT);
  }

  @Override
  Map<String, String> overrides() {
    return Map.of("teekms.chain.allow-single-rpc", "true", "teekms.audit.anchor-interval", "1s");
  }
}
