package org.teekms.kms.operator;

import org.teekms.keys.AppId;

/** Who owns the KMS registry now, read from the chain at a pinned block. */
public interface RegistryOwnerPort {

  /** The owner read at a pinned block, or why it could not be read. Never throws. */
  OwnerRead owner();

  /**
   * An app's on-chain key versions at the block {@code blockHash} (the block the owner was read
   * at), only if the app is REGISTERED in the registry there; else a failure. Never throws.
   */
  AppVersionsRead appVersions(AppId appId, String blockHash);

  /**
   * EIP-1271: {@code contract.isValidSignature(digest, signature)} by eth_call at the block {@code
   * blockHash} (the block the owner was read at). Never throws.
   */
  ContractSignatureRead isValidSignature(
      String contract, byte[] digest, byte[] signature, String blockHash);

  /**
   * @param failure null on success
   * @param notRegistered the chain was read and the app is not REGISTERED there (a policy answer,
   *     not an outage)
   */
  record AppVersionsRead(long current, long minimum, String failure, boolean notRegistered) {
    public AppVersionsRead(long current, long minimum, String failure) {
      this(current, minimum, failure, false);
    }

    public static AppVersionsRead failed(String why) {
      return new AppVersionsRead(0, 0, why, false);
    }

    public static AppVersionsRead unregistered(String why) {
      return new AppVersionsRead(0, 0, why, true);
    }
  }

  /**
   * What an EIP-1271 owner contract answered; {@code detail} says what it returned or why it could
   * not be asked.
   */
  record ContractSignatureRead(Outcome outcome, String detail) {
    public enum Outcome {
      /** It returned exactly the magic value 0x1626ba7e. */
      VALID,
      /** It reverted, or returned anything else. */
      REJECTED,
      /** The call could not be made (RPC down, node error): fail closed, retry later. */
      UNAVAILABLE
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
      public AppVersionsRead appVersions(AppId appId, String blockHash) {
        return AppVersionsRead.failed("no chain configured");
      }

      @Override
      public ContractSignatureRead isValidSignature(
          String contract, byte[] digest, byte[] signature, String blockHash) {
        return new ContractSignatureRead(
            ContractSignatureRead.Outcome.UNAVAILABLE, "no chain configured");
      }
    };
  }

  /**
   * @param owner lower-case 0x address, null on failure
   * @param contract the owner account has code at that block: requests are checked with EIP-1271,
   *     not EIP-191
   * @param failure null on success
   */
  record OwnerRead(
      String owner, boolean contract, long blockNumber, String blockHash, String failure) {
    public static OwnerRead failed(String why) {
      return new OwnerRead(null, false, 0, "", why);
    }
  }
}
