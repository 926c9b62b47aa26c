package org.teekms.kms.audit;

import org.teekms.crypto.Bytes;
import org.web3j.crypto.Credentials;

/** The registry's audit anchor (KmsRegistry.latestAuditAnchor / anchorAuditHead). Never throws. */
public interface AuditAnchorPort {

  /** The latest anchor, or why it could not be read. */
  Latest latest();

  /**
   * Sends anchorAuditHead(head, entryCount) from {@code anchorer}; the registry's refusal or the
   * RPC failure, or null.
   */
  String anchor(byte[] head, long entryCount, Credentials anchorer);

  /**
   * @param failure null when read
   */
  record Latest(Bytes head, long entryCount, long atBlock, String failure) {
    public static Latest failed(String why) {
      return new Latest(Bytes.copyOf(new byte[32]), 0, 0, why);
    }
  }

  static AuditAnchorPort unconfigured() {
    return new AuditAnchorPort() {
      @Override
      public Latest latest() {
        return Latest.failed("no chain configured");
      }

      @Override
      public String anchor(byte[] head, long entryCount, Credentials anchorer) {
        return "no chain configured";
      }
    };
  }
}
