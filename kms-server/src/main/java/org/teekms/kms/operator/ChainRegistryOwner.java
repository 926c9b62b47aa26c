package org.teekms.kms.operator;

import java.math.BigInteger;
import java.util.HexFormat;
import java.util.List;
import org.teekms.governance.AppPolicy;
import java.util.Locale;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.methods.response.EthBlock;

/**
 * KmsRegistry.owner() by eth_call at head − confirmations, named by block hash (EIP-1898), through the governance
 * bindings' ABI. A fresh read per request: operator requests are rare and must see an ownership transfer at once.
 */
public final class ChainRegistryOwner implements RegistryOwnerPort {

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
      EthBlock.Block block = chain.block(DefaultBlockParameter.valueOf(BigInteger.valueOf(number)))
          .orElseThrow(() -> new IllegalStateException("the node reports head " + head + " but has no block " + number));
      String data = KmsRegistry.ABI.encodeCall("owner");
      List<Object> out = KmsRegistry.ABI.decodeResult("owner", chain.callAtBlockHash(registry, data, block.getHash()));
      return new OwnerRead(((String) out.get(0)).toLowerCase(Locale.ROOT), number, block.getHash(), null);
    } catch (GovernanceException | RuntimeException e) {
      return OwnerRead.failed("reading KmsRegistry.owner() at " + registry + " failed: " + e.getMessage());
    }
  }

  @Override
  public AppVersionsRead appVersions(byte[] appId, String blockHash) {
    String app = "0x" + HexFormat.of().formatHex(appId);
    try {
      BigInteger status = (BigInteger) KmsRegistry.ABI.decodeResult("appStatus",
          chain.callAtBlockHash(registry, KmsRegistry.ABI.encodeCall("appStatus", app), blockHash)).get(0);
      if (status.intValueExact() != KmsRegistry.AppStatus.REGISTERED.ordinal()) {
        return AppVersionsRead.failed("app " + app + " is not REGISTERED in the registry (status "
            + KmsRegistry.AppStatus.values()[status.intValueExact()] + ")");
      }
      BigInteger current = (BigInteger) AppPolicy.ABI.decodeResult("currentKeyVersion",
          chain.callAtBlockHash(app, AppPolicy.ABI.encodeCall("currentKeyVersion"), blockHash)).get(0);
      BigInteger minimum = (BigInteger) AppPolicy.ABI.decodeResult("minKeyVersion",
          chain.callAtBlockHash(app, AppPolicy.ABI.encodeCall("minKeyVersion"), blockHash)).get(0);
      return new AppVersionsRead(current.longValueExact(), minimum.longValueExact(), null);
    } catch (GovernanceException | RuntimeException e) {
      return AppVersionsRead.failed("reading the key versions of app " + app + " failed: " + e.getMessage());
    }
  }
}
