package org.teekms.kms.app;

/**
 * As deployed (RA-TLS server, simulated TDX), a node of a lost deployment that recovers its root
 * from custodians.
 */
public class RecoveryProfile extends DeployedProfile {

  static final int PORT = TestPorts.free("recovery");

  public RecoveryProfile() {
    super("kms-recovery-it", PORT);
  }
}
