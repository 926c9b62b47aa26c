package org.teekms.agent.boot;

import java.math.BigInteger;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.governance.RootAnchor;
import org.teekms.keys.EthereumAddress;
import org.teekms.proto.AppKeys;
import org.teekms.proto.GetAppKeysResponse;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.methods.response.EthBlock;

/**
 * When the agent trusts its KMS because the registry lists it, the keys it received must also come
 * from the KMS identity the operator published there ({@code teekms kms bootstrap --publish} /
 * {@code gov set-kms-identity}): for every root generation a released key version uses, the KMS
 * root address that certified it must be the address of the published root public key, and the KMS
 * CA certificate released with it must hash to the published CA certificate hash. Read with {@code
 * eth_call} at one pinned block (head − confirmations, named by its hash). A registered KMS
 * measurement serving some other root (a replica that generated its own roots, a registry entry for
 * another deployment) is then refused instead of trusted. The generation must also be live on chain
 * (CURRENT or RETIRED in the registry's root anchor): keys of a generation the registry says is
 * DESTROYED are refused ({@code KMS_GENERATION_NOT_LIVE}), whatever the KMS's database claims.
 */
public final class PublishedKmsIdentity {

  /**
   * What the registry stores for one generation ({@link KmsRegistry.KmsIdentity}) and the state of
   * that generation in its root anchor, read at one block.
   */
  public record Entry(
      int generation,
      KmsRegistry.KmsIdentity identity,
      RootAnchor.State state,
      long blockNumber,
      String blockHash) {}

  /** Reads the published identity of a generation at a pinned block. */
  @FunctionalInterface
  public interface Registry {
    Entry read(int generation) throws GovernanceException;
  }

  private PublishedKmsIdentity() {}

  /** The registry over JSON-RPC, pinned at head − {@code config.confirmations()}. */
  public static Registry onChain(PolicyReaderConfig config) {
    return generation -> {
      try (ChainClient chain =
          ChainClient.connect(
              config.rpcUrl(), config.chainId(), config.rpcTimeout(), config.rpcTimeout())) {
        chain.checkChainId();
        long head = chain.blockNumber();
        long number = Math.max(0, head - config.confirmations());
        EthBlock.Block block =
            chain
                .block(DefaultBlockParameter.valueOf(BigInteger.valueOf(number)))
                .orElseThrow(
                    () ->
                        new GovernanceException(
                            GovernanceException.Kind.RPC, "no block " + number));
        KmsRegistry registry =
            KmsRegistry.at(chain, config.registryAddress(), null).atBlockHash(block.getHash());
        KmsRegistry.KmsIdentity identity = registry.kmsIdentity(generation);
        RootAnchor.State state = registry.rootGenerationState(generation);
        return new Entry(generation, identity, state, number, block.getHash());
      }
    };
  }

  /**
   * @throws BootFailure {@code KMS_IDENTITY_MISMATCH} or {@code KMS_IDENTITY_UNAVAILABLE}, saying
   *     what differs
   */
  public static void check(GetAppKeysResponse response, AgentKeys keys, Registry registry)
      throws BootFailure {
    Map<Integer, AppKeys> byGeneration = new TreeMap<>();
    for (AppKeys k : response.getKeysList()) {
      byGeneration.putIfAbsent(k.getRootGeneration(), k);
    }
    HexFormat hex = HexFormat.of();
    for (Map.Entry<Integer, AppKeys> e : byGeneration.entrySet()) {
      int generation = e.getKey();
      Entry published;
      try {
        published = registry.read(generation);
      } catch (GovernanceException | RuntimeException ex) {
        throw new BootFailure(
            "KMS_IDENTITY_UNAVAILABLE",
            "cannot read the published identity of KMS root generation "
                + generation
                + " from the registry (not published, or the chain is unreadable): "
                + ex.getMessage(),
            ex);
      }
      String at =
          " (registry at block " + published.blockNumber() + " " + published.blockHash() + ")";
      if (published.state() != RootAnchor.State.CURRENT
          && published.state() != RootAnchor.State.RETIRED) {
        // Only live generations: a destroyed one served by a KMS whose database was restored from a
        // backup is refused.
        throw new BootFailure(
            "KMS_GENERATION_NOT_LIVE",
            "the keys come from KMS root generation "
                + generation
                + ", which the registry says is "
                + published.state()
                + at,
            null);
      }
      EthereumAddress publishedRoot;
      try {
        publishedRoot =
            EthereumAddress.fromPublicKey(published.identity().rootPublicKeys().toByteArray());
      } catch (RuntimeException ex) {
        throw new BootFailure(
            "KMS_IDENTITY_MISMATCH",
            "the published root public key of generation "
                + generation
                + " is not a secp256k1 key"
                + at,
            ex);
      }
      EthereumAddress certifiedBy = keys.kmsRoots().get(generation);
      if (!publishedRoot.equals(certifiedBy)) {
        throw new BootFailure(
            "KMS_IDENTITY_MISMATCH",
            "the keys are certified by KMS root "
                + (certifiedBy == null ? "(none)" : certifiedBy.toChecksumString())
                + ", but the registry publishes root "
                + publishedRoot.toChecksumString()
                + " for generation "
                + generation
                + at,
            null);
      }
      byte[] ca = e.getValue().getKmsCaX509().toByteArray();
      Bytes publishedCa = published.identity().caCertificateSha256();
      if (ca.length == 0 || !Bytes.copyOf(sha256(ca)).equalsConstantTime(publishedCa)) {
        throw new BootFailure(
            "KMS_IDENTITY_MISMATCH",
            "the KMS CA certificate released for generation "
                + generation
                + " (SHA-256 "
                + hex.formatHex(sha256(ca))
                + ") is not the published one ("
                + publishedCa.hex()
                + ")"
                + at,
            null);
      }
    }
  }

  private static byte[] sha256(byte[] b) {
    return Digests.sha256(b);
  }
}
