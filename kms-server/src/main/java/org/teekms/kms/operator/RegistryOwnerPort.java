package org.teekms.kms.operator;

/** Who owns the KMS registry now, read from the chain at a pinned block. */
public interface RegistryOwnerPort {

  /** The owner read at a pinned block, or why it could not be read. Never throws. */
  OwnerRead owner();

  /**
   * An app's on-chain key versions at the block {@code blockHash} (the block the owner was read at), only if the app is
   * REGISTERED in the registry there; else a failure. Never throws.
   */
  AppVersionsRead appVersions(byte[] appId, String blockHash);

  /** @param failure null on success */
  record AppVersionsRead(long current, long minimum, String failure) {
    public static AppVersionsRead failed(String why) {
      return new AppVersionsRead(0, 0, why);
    }
  }

  /** A chain that is not configured: every read fails, so every operator request is refused. */
  static RegistryOwnerPort unconfigured() {
    return new RegistryOwnerPort() {
      @Override
      public OwnerRead owner() {
        return OwnerRead.failed("no chain configured");
      }

      @Override
      public AppVersionsRead appVersions(byte[] appId, String blockHash) {
        return AppVersionsRead.failed("no chain configured");
      }
    };
  }

  /** @param owner lower-case 0x address, null on failure; @param failure null on success */
  record OwnerRead(String owner, long blockNumber, String blockHash, String failure) {
    public static OwnerRead failed(String why) {
      return new OwnerRead(null, 0, "", why);
    }
  }
}
