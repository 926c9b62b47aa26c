package org.teekms.kms.app;

/** As deployed (RA-TLS server), for the auditor-side audit checks (AuditRecomputeRaTlsTest). */
public class AuditProfile extends DeployedProfile {

  static final int PORT = TestPorts.free("audit");

  public AuditProfile() {
    super("kms-audit-it", PORT);
  }
}
