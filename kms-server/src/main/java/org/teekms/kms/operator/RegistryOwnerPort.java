package org.teekms.kms.operator;

/** Who owns the KMS registry now, read from the chain at a pinned block. */
public interface RegistryOwnerPort {

  /** The owner read at a pinned block, or why it could not be read. Never throws. */
  OwnerRead owner();

  /** @param owner lower-case 0x address, null on failure; @param failure null on success */
  record OwnerRead(String owner, long blockNumber, String blockHash, String failure) {
    public static OwnerRead failed(String why) {
      return new OwnerRead(null, 0, "", why);
    }
  }
}
