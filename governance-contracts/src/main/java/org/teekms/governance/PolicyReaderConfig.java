package org.teekms.governance;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.web3j.crypto.WalletUtils;

/**
 * Settings of a {@link ChainPolicyReader}.
 *
 * @param rpcUrls the JSON-RPC endpoints read together (n of them); independent operators in
 *     production
 * @param quorum how many of them (k, 1..n) must answer at the same pinned block with identical
 *     answers; any endpoint that answers differently denies whatever the count
 * @param chainId the chain the registry lives on; any other answer is WRONG_CHAIN
 * @param registryAddress the KmsRegistry contract
 * @param confirmations the pinned block is head − confirmations (when the finalized tag is not
 *     used)
 * @param preferFinalized pin the chain's "finalized" block when the endpoints support that tag
 * @param cacheTtl how long a decision for (block, boot) is reused
 * @param cacheMaxEntries bound on cached decisions
 * @param rpcTimeout connect/read timeout of one RPC request
 * @param maxBlockAge a pinned block whose timestamp is older than this (against the reader's clock)
 *     is refused
 */
public record PolicyReaderConfig(
    List<String> rpcUrls,
    int quorum,
    long chainId,
    String registryAddress,
    int confirmations,
    boolean preferFinalized,
    Duration cacheTtl,
    int cacheMaxEntries,
    Duration rpcTimeout,
    Duration maxBlockAge) {

  /**
   * Default {@link #maxBlockAge}: well above mainnet finality (~13 min), far below a useful
   * rollback.
   */
  public static final Duration DEFAULT_MAX_BLOCK_AGE = Duration.ofMinutes(30);

  public PolicyReaderConfig {
    Objects.requireNonNull(rpcUrls, "rpcUrls");
    rpcUrls = List.copyOf(rpcUrls);
    if (rpcUrls.isEmpty() || rpcUrls.size() > 16)
      throw new IllegalArgumentException("1 to 16 RPC endpoints");
    if (rpcUrls.stream().anyMatch(u -> u == null || u.isBlank())) {
      throw new IllegalArgumentException("an RPC endpoint URL is empty");
    }
    if (rpcUrls.stream().map(u -> u.strip().toLowerCase(java.util.Locale.ROOT)).distinct().count()
        != rpcUrls.size()) {
      throw new IllegalArgumentException("RPC endpoints listed twice: " + rpcUrls);
    }
    if (quorum < 1 || quorum > rpcUrls.size()) {
      throw new IllegalArgumentException(
          "quorum must be 1.." + rpcUrls.size() + " (the number of endpoints), got " + quorum);
    }
    if (chainId <= 0) throw new IllegalArgumentException("chainId must be positive");
    if (!WalletUtils.isValidAddress(registryAddress)) {
      throw new IllegalArgumentException("registryAddress is not an address: " + registryAddress);
    }
    if (confirmations < 0 || confirmations > 10_000)
      throw new IllegalArgumentException("confirmations out of range");
    if (cacheTtl.isNegative()) throw new IllegalArgumentException("cacheTtl is negative");
    if (cacheMaxEntries < 0) throw new IllegalArgumentException("cacheMaxEntries is negative");
    if (rpcTimeout.isNegative() || rpcTimeout.isZero())
      throw new IllegalArgumentException("rpcTimeout must be > 0");
    if (maxBlockAge.isNegative() || maxBlockAge.isZero())
      throw new IllegalArgumentException("maxBlockAge must be > 0");
  }

  /**
   * One endpoint (n = k = 1): for tools and tests; the KMS allows it only when configured to (see
   * kms-server).
   */
  public PolicyReaderConfig(
      String rpcUrl,
      long chainId,
      String registryAddress,
      int confirmations,
      boolean preferFinalized,
      Duration cacheTtl,
      int cacheMaxEntries,
      Duration rpcTimeout) {
    this(
        List.of(Objects.requireNonNull(rpcUrl, "rpcUrl")),
        1,
        chainId,
        registryAddress,
        confirmations,
        preferFinalized,
        cacheTtl,
        cacheMaxEntries,
        rpcTimeout,
        DEFAULT_MAX_BLOCK_AGE);
  }

  /**
   * The first endpoint: what single-endpoint readers (the agent's registry checks, CLI tools) use.
   */
  public String rpcUrl() {
    return rpcUrls.get(0);
  }

  /**
   * Defaults: one endpoint, 3 confirmations, finalized tag off (anvil and some L2 nodes report
   * genesis or a far-behind block as "finalized"; turn it on for chains with real finality), 30 s
   * cache of up to 10,000 decisions, 5 s RPC timeout, blocks older than 30 minutes refused.
   */
  public static PolicyReaderConfig defaults(String rpcUrl, long chainId, String registryAddress) {
    return new PolicyReaderConfig(
        rpcUrl,
        chainId,
        registryAddress,
        3,
        false,
        Duration.ofSeconds(30),
        10_000,
        Duration.ofSeconds(5));
  }

  public PolicyReaderConfig withConfirmations(int n, boolean finalized) {
    return new PolicyReaderConfig(
        rpcUrls,
        quorum,
        chainId,
        registryAddress,
        n,
        finalized,
        cacheTtl,
        cacheMaxEntries,
        rpcTimeout,
        maxBlockAge);
  }

  public PolicyReaderConfig withCache(Duration ttl, int maxEntries) {
    return new PolicyReaderConfig(
        rpcUrls,
        quorum,
        chainId,
        registryAddress,
        confirmations,
        preferFinalized,
        ttl,
        maxEntries,
        rpcTimeout,
        maxBlockAge);
  }

  /** Reads from {@code urls}, {@code k} of which must answer identically. */
  public PolicyReaderConfig withQuorum(List<String> urls, int k) {
    return new PolicyReaderConfig(
        urls,
        k,
        chainId,
        registryAddress,
        confirmations,
        preferFinalized,
        cacheTtl,
        cacheMaxEntries,
        rpcTimeout,
        maxBlockAge);
  }

  public PolicyReaderConfig withMaxBlockAge(Duration age) {
    return new PolicyReaderConfig(
        rpcUrls,
        quorum,
        chainId,
        registryAddress,
        confirmations,
        preferFinalized,
        cacheTtl,
        cacheMaxEntries,
        rpcTimeout,
        age);
  }
}
