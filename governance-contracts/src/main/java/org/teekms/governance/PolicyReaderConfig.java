package org.teekms.governance;

import java.time.Duration;
import java.util.Objects;
import org.web3j.crypto.WalletUtils;

/**
 * Settings of a {@link ChainPolicyReader}.
 *
 * @param rpcUrl JSON-RPC endpoint
 * @param chainId the chain the registry lives on; any other answer is WRONG_CHAIN
 * @param registryAddress the KmsRegistry contract
 * @param confirmations the pinned block is head − confirmations (when the finalized tag is not used)
 * @param preferFinalized pin the chain's "finalized" block when the endpoint supports that tag
 * @param cacheTtl how long a decision for (block, boot) is reused
 * @param cacheMaxEntries bound on cached decisions
 * @param rpcTimeout connect/read timeout of one RPC request
 */
public record PolicyReaderConfig(String rpcUrl, long chainId, String registryAddress, int confirmations,
    boolean preferFinalized, Duration cacheTtl, int cacheMaxEntries, Duration rpcTimeout) {

  public PolicyReaderConfig {
    Objects.requireNonNull(rpcUrl, "rpcUrl");
    if (chainId <= 0) throw new IllegalArgumentException("chainId must be positive");
    if (!WalletUtils.isValidAddress(registryAddress)) {
      throw new IllegalArgumentException("registryAddress is not an address: " + registryAddress);
    }
    if (confirmations < 0 || confirmations > 10_000) throw new IllegalArgumentException("confirmations out of range");
    if (cacheTtl.isNegative()) throw new IllegalArgumentException("cacheTtl is negative");
    if (cacheMaxEntries < 0) throw new IllegalArgumentException("cacheMaxEntries is negative");
    if (rpcTimeout.isNegative() || rpcTimeout.isZero()) throw new IllegalArgumentException("rpcTimeout must be > 0");
  }

  /**
   * Defaults: 3 confirmations, finalized tag off (anvil and some L2 nodes report genesis or a far-behind block as
   * "finalized"; turn it on for chains with real finality), 30 s cache of up to 10,000 decisions, 5 s RPC timeout.
   */
  public static PolicyReaderConfig defaults(String rpcUrl, long chainId, String registryAddress) {
    return new PolicyReaderConfig(rpcUrl, chainId, registryAddress, 3, false, Duration.ofSeconds(30), 10_000,
        Duration.ofSeconds(5));
  }

  public PolicyReaderConfig withConfirmations(int n, boolean finalized) {
    return new PolicyReaderConfig(rpcUrl, chainId, registryAddress, n, finalized, cacheTtl, cacheMaxEntries,
        rpcTimeout);
  }

  public PolicyReaderConfig withCache(Duration ttl, int maxEntries) {
    return new PolicyReaderConfig(rpcUrl, chainId, registryAddress, confirmations, preferFinalized, ttl, maxEntries,
        rpcTimeout);
  }
}
