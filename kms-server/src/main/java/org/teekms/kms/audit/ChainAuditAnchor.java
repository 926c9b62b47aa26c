package org.teekms.kms.audit;

import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.web3j.crypto.Credentials;

/** {@link AuditAnchorPort} over the KmsRegistry's web3j-generated wrapper. */
public final class ChainAuditAnchor implements AuditAnchorPort {

  private final ChainClient chain;
  private final String registry;

  public ChainAuditAnchor(ChainClient chain, String registry) {
    this.chain = chain;
    this.registry = registry;
  }

  @Override
  public Latest latest() {
    try {
      KmsRegistry.AuditAnchor a = KmsRegistry.at(chain, registry, null).latestAuditAnchor();
      return new Latest(a.head(), a.entryCount(), a.atBlock(), null);
    } catch (GovernanceException | RuntimeException e) {
      return Latest.failed(
          "reading latestAuditAnchor() at " + registry + " failed: " + e.getMessage());
    }
  }

  @Override
  public String anchor(byte[] head, long entryCount, Credentials anchorer) {
    try {
      KmsRegistry.at(chain, registry, anchorer).anchorAuditHead(head, entryCount);
      return null;
    } catch (GovernanceException | RuntimeException e) {
      return "anchorAuditHead from " + anchorer.getAddress() + " failed: " + e.getMessage();
    }
  }
}
