package org.teekms.kms.operator;

import java.math.BigInteger;
import java.util.HexFormat;
import java.util.Locale;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.teekms.keys.AppId;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.methods.response.EthBlock;

/**
 * KmsRegistry.owner() by eth_call at head − confirmations, named by block hash (EIP-1898), through
 * the governance bindings (web3j-generated wrappers), with the owner's code at that block (EOA or
 * contract) and, for a contract owner, its EIP-1271 isValidSignature answer at that same block. A
 * fresh read per request: operator requests are rare and must see an ownership transfer at once.
 */
public final class ChainRegistryOwner implements RegistryOwnerPort {

  /** EIP-1271 magic value as the single ABI word an eth_call returns. */
  static final String MAGIC_WORD = "0x1626ba7e" + "0".repeat(56);

  private final ChainClient chain;
  private final String registry;
  private final int confirmations;

  public ChainRegistryOwner(ChainClient chain, String registry, int confirmations) {
    this.chain = chain;
    this.registry = registry.toLowerCase(Locale.ROOT);
    this.confirmations = confirmations;
  }

  @Override
  public OwnerRead owner() {
    try {
      long head = chain.blockNumber();
      long number = Math.max(0, head - confirmations);
      EthBlock.Block block =
          chain
              .block(DefaultBlockParameter.valueOf(BigInteger.valueOf(number)))
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "the node reports head " + head + " but has no block " + number));
      String owner =
          KmsRegistry.at(chain, registry, null)
              .atBlockHash(block.getHash())
              .owner()
              .toLowerCase(Locale.ROOT);
      // Same block: the owner's kind (EOA or contract) is a fact of the block that named it.
      String code;
      try {
        code = chain.codeAtBlockHash(owner, block.getHash());
      } catch (GovernanceException e) {
        return OwnerRead.failed(
            "reading the code of registry owner "
                + owner
                + " at block "
                + number
                + " failed: "
                + e.getMessage());
      }
      return new OwnerRead(owner, code.length() > 2, number, block.getHash(), null);
    } catch (GovernanceException | RuntimeException e) {
      return OwnerRead.failed(
          "reading KmsRegistry.owner() at " + registry + " failed: " + e.getMessage());
    }
  }

  @Override
  public ContractSignatureRead isValidSignature(
      String contract, byte[] digest, byte[] signature, String blockHash) {
    String call = "isValidSignature(bytes32,bytes) of " + contract + " at block " + blockHash;
    String result;
    try {
      result = chain.callAtBlockHash(contract, eip1271Call(digest, signature), blockHash);
    } catch (GovernanceException e) {
      return new ContractSignatureRead(
          e.kind() == GovernanceException.Kind.REVERTED
              ? ContractSignatureRead.Outcome.REJECTED
              : ContractSignatureRead.Outcome.UNAVAILABLE,
          call
              + (e.kind() == GovernanceException.Kind.REVERTED ? " reverted: " : " failed: ")
              + e.getMessage());
    } catch (RuntimeException e) {
      return new ContractSignatureRead(
          ContractSignatureRead.Outcome.UNAVAILABLE, call + " failed: " + e);
    }
    // The ABI encoding of bytes4 0x1626ba7e is exactly one word: the 4 bytes, then 28 zero bytes.
    // Nothing else counts.
    if (MAGIC_WORD.equalsIgnoreCase(result)) {
      return new ContractSignatureRead(
          ContractSignatureRead.Outcome.VALID, call + " returned the EIP-1271 magic value");
    }
    String shown =
        result == null ? "null" : result.length() > 138 ? result.substring(0, 138) + "…" : result;
    return new ContractSignatureRead(
        ContractSignatureRead.Outcome.REJECTED,
        call + " returned " + shown + " instead of the EIP-1271 magic value 0x1626ba7e");
  }

  /** Calldata of {@code isValidSignature(bytes32 hash, bytes signature)} (selector 0x1626ba7e). */
  static String eip1271Call(byte[] digest, byte[] signature) {
    if (digest.length != 32) {
      throw new IllegalArgumentException("digest must be 32 bytes");
    }
    HexFormat hex = HexFormat.of();
    StringBuilder b =
        new StringBuilder("0x1626ba7e")
            .append(hex.formatHex(digest))
            .append(word(64))
            .append(word(signature.length))
            .append(hex.formatHex(signature));
    int pad = (32 - signature.length % 32) % 32;
    b.append("00".repeat(pad));
    return b.toString();
  }

  private static String word(long v) {
    return String.format("%064x", v);
  }

  @Override
  public AppVersionsRead appVersions(AppId appId, String blockHash) {
    String app = "0x" + appId.toHex();
    try {
      KmsRegistry.AppStatus status =
          KmsRegistry.at(chain, registry, null).atBlockHash(blockHash).appStatus(app);
      if (status != KmsRegistry.AppStatus.REGISTERED) {
        return AppVersionsRead.unregistered(
            "app " + app + " is not REGISTERED in the registry (status " + status + ")");
      }
      AppPolicy policy = AppPolicy.at(chain, app, null).atBlockHash(blockHash);
      return new AppVersionsRead(policy.currentKeyVersion(), policy.minKeyVersion(), null);
    } catch (GovernanceException | RuntimeException e) {
      return AppVersionsRead.failed(
          "reading the key versions of app " + app + " failed: " + e.getMessage());
    }
  }
}
