package org.teekms.kms.wiring;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.teekms.governance.ChainClient;
import org.teekms.kms.custody.ChainCustody;
import org.teekms.kms.custody.RootBackups;
import org.teekms.kms.roots.RootGenerationStore;
import org.web3j.crypto.WalletUtils;

/** The KMS's root custody ({@code teekms.custody.*}): present only when enabled. */
public record CustodyWiring(
    Optional<RootBackups> backups, Optional<org.teekms.kms.custody.CustodyChainPort> chain) {

  private static final Logger LOG = Logger.getLogger(CustodyWiring.class);

  /**
   * Checks, in order (the first failure stops startup): the chain is configured (the custodian set
   * and the published backups are read from it); {@code contract-address} is an address; {@code
   * threshold} is 1..255; {@code store} is set. Reads go to every {@code teekms.chain.rpc-urls}
   * endpoint at head − {@code teekms.chain.confirmations}, with the chain's quorum.
   */
  static CustodyWiring from(KmsConfig config, RootGenerationStore roots) {
    KmsConfig.Custody c = config.custody();
    if (!c.enabled()) {
      if (c.recoverGeneration().isPresent()) {
        throw new IllegalStateException(
            "teekms.custody.recover-generation needs teekms.custody.enabled=true (and its "
                + "contract-address, threshold and store): a recovered root is backed up like any other");
      }
      return new CustodyWiring(Optional.empty(), Optional.empty());
    }
    if (c.recoverGeneration().isPresent() && c.recoverGeneration().get() < 1) {
      throw new IllegalStateException(
          "teekms.custody.recover-generation must be ≥ 1, got " + c.recoverGeneration().get());
    }
    String prefix = "teekms.custody.enabled=true needs ";
    Optional<ChainEndpoints> endpoints = KmsBeans.chainEndpoints(config.chain());
    if (endpoints.isEmpty()) {
      throw new IllegalStateException(
          prefix
              + "the chain (teekms.chain.rpc-urls, chain-id, registry-address): the "
              + "custodians are read from the RootCustody contract");
    }
    String address =
        c.contractAddress()
            .filter(WalletUtils::isValidAddress)
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        prefix
                            + "teekms.custody.contract-address (the RootCustody contract, 0x + 40 hex)"));
    int threshold =
        c.threshold()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        prefix
                            + "teekms.custody.threshold (shares needed to recover a root, 1..255)"));
    if (threshold < 1 || threshold > 255) {
      throw new IllegalStateException("teekms.custody.threshold must be 1..255, got " + threshold);
    }
    java.nio.file.Path store =
        c.store()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        prefix
                            + "teekms.custody.store (the share store directory custodians read)"));
    if (threshold == 1) {
      LOG.warn(
          "teekms.custody.threshold=1: any single custodian can recover every root generation");
    }
    List<ChainClient> clients = new ArrayList<>();
    for (String url : endpoints.get().urls()) {
      clients.add(ChainClient.connect(url, config.chain().chainId()));
    }
    ChainCustody chain =
        new ChainCustody(
            clients,
            endpoints.get().urls(),
            endpoints.get().quorum(),
            address,
            config.chain().confirmations());
    LOG.infof(
        "root custody: %d-of-n backups of every new root generation to the custodians of %s, share store %s, "
            + "publication %s",
        threshold, address, store, c.requirePublished() ? "required before use" : "not awaited");
    return new CustodyWiring(
        Optional.of(
            new RootBackups(
                chain,
                new RootBackups.Settings(threshold, store, c.requirePublished()),
                roots,
                new SecureRandom())),
        Optional.of(chain));
  }
}
