package org.teekms.kms.app;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.testing.AnvilNode;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;

/**
 * A local chain (anvil) with a KmsRegistry owned by a fresh account, for a @QuarkusTest. The
 * owner's and a stranger's keys are written as files (the CLI's --key-file) under {@code
 * rotation-it.keys-dir}: test resources may live in another class loader than the test, so they
 * hand values over through configuration only.
 */
public class AnvilRegistryResource implements QuarkusTestResourceLifecycleManager {

  private AnvilNode anvil;

  @Override
  public Map<String, String> start() {
    try {
      anvil = AnvilNode.start();
      Credentials deployer = anvil.fundedAccount();
      Credentials owner = anvil.fundedAccount();
      Credentials appOwner = anvil.fundedAccount();
      Credentials stranger = AnvilNode.unfundedAccount();
      String registry;
      String app;
      String dueApp;
      String wallet;
      List<Credentials> signers =
          List.of(anvil.fundedAccount(), anvil.fundedAccount(), anvil.fundedAccount());
      try (ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID)) {
        registry = KmsRegistry.deploy(chain, deployer, owner.getAddress()).registry().address();
        // One registered app whose owner rotated twice and cut off version 1: current 3, minimum 2.
        app = KmsRegistry.at(chain, registry, owner).registerApp(appOwner.getAddress()).appId();
        AppPolicy policy = AppPolicy.at(chain, app, appOwner);
        policy.rotateKeys();
        policy.rotateKeys();
        policy.setMinKeyVersion(2);
        // A second app with a one-hour rotation period that has elapsed: AppPolicy.rotationDue() is
        // true.
        dueApp = KmsRegistry.at(chain, registry, owner).registerApp(appOwner.getAddress()).appId();
        AppPolicy.at(chain, dueApp, appOwner).setRotationPeriod(3600);
        anvil.increaseTime(3601);
        anvil.mine(1);
        // A 2-of-3 multisig (EIP-1271) the test may hand the registry to.
        wallet = org.teekms.governance.testing.TestMultisigs.deploy(chain, deployer, signers, 2);
      }
      Path keys = Files.createTempDirectory("teekms-rotate-keys");
      Files.writeString(
          keys.resolve("owner.key"),
          Numeric.toHexStringNoPrefixZeroPadded(owner.getEcKeyPair().getPrivateKey(), 64));
      Files.writeString(
          keys.resolve("stranger.key"),
          Numeric.toHexStringNoPrefixZeroPadded(stranger.getEcKeyPair().getPrivateKey(), 64));
      Files.writeString(keys.resolve("owner.address"), owner.getAddress());
      for (int i = 0; i < signers.size(); i++) {
        Files.writeString(
            keys.resolve("signer-" + i + ".key"),
            Numeric.toHexStringNoPrefixZeroPadded(
                signers.get(i).getEcKeyPair().getPrivateKey(), 64));
      }
      return Map.of(
          "teekms.chain.rpc-url",
          anvil.rpcUrl(),
          "teekms.chain.chain-id",
          String.valueOf(AnvilNode.CHAIN_ID),
          "teekms.chain.registry-address",
          registry,
          "teekms.chain.confirmations",
          "0",
          "rotation-it.keys-dir",
          keys.toString(),
          "rotation-it.app-id",
          app,
          "rotation-it.due-app-id",
          dueApp,
          "rotation-it.multisig",
          wallet);
    } catch (Exception e) {
      throw new IllegalStateException("could not start anvil with a KmsRegistry", e);
    }
  }

  @Override
  public void stop() {
    if (anvil != null) {
      anvil.close();
    }
  }
}
