package org.teekms.kms.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.teekms.custody.BackupStore;
import org.teekms.custody.RecipientKey;
import org.teekms.custody.RecipientKeyPair;
import org.teekms.custody.RootBackup;
import org.teekms.custody.RootRecovery;
import org.teekms.governance.ChainClient;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.RootCustody;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;

/**
 * What is left after every KMS node of a deployment was lost: a local chain (anvil) with its
 * KmsRegistry (generation 1's identity published: the key-derivation vectors' root), a RootCustody
 * with three registered custodians and the published 2-of-3 backup of that root, and the share
 * store. The custodians' and the owner's keys are written as files (the CLI's --key-file) under
 * {@code recovery-it.keys-dir}. The KMS under test starts with an empty database and {@code
 * teekms.custody.recover-generation=1}.
 */
public class CustodyRecoveryResource implements QuarkusTestResourceLifecycleManager {

  static final int GENERATION = 1;
  private AnvilNode anvil;

  /** The vectors' root secret of {@link #GENERATION} (docs/key-derivation-vectors.json). */
  static byte[] vectorRoot() throws Exception {
    JsonNode v =
        new ObjectMapper()
            .readTree(
                Path.of(System.getProperty("teekms.docs", "../docs"), "key-derivation-vectors.json")
                    .toFile());
    for (JsonNode r : v.get("roots")) {
      if (r.get("generation").asInt() == GENERATION)
        return HexFormat.of().parseHex(r.get("secret").asText());
    }
    throw new IllegalStateException("no root of generation " + GENERATION + " in the vectors");
  }

  @Override
  public Map<String, String> start() {
    try {
      anvil = AnvilNode.start();
      Credentials deployer = anvil.fundedAccount();
      Credentials owner = anvil.fundedAccount();
      Path keys = Files.createTempDirectory("teekms-recovery-keys");
      Path store = Files.createTempDirectory("teekms-recovery-store");
      String registryAddress;
      String custodyAddress;
      try (ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID)) {
        registryAddress =
            KmsRegistry.deploy(chain, deployer, owner.getAddress()).registry().address();
        KmsRegistry registry = KmsRegistry.at(chain, registryAddress, owner);
        byte[] root = vectorRoot();
        try (SecretBytes secret = SecretBytes.copyOf(root, InsecureSecretAccess.get())) {
          registry.setKmsIdentity(
              GENERATION,
              RootRecovery.rootPublicKey(GENERATION, secret),
              new byte[] {1},
              new byte[] {1});
          RootCustody custody =
              RootCustody.deploy(chain, deployer, registryAddress).withSigner(owner);
          custodyAddress = custody.address();
          List<RecipientKey> publicKeys = new ArrayList<>();
          for (int i = 1; i <= 3; i++) {
            try (RecipientKeyPair k = RecipientKeyPair.generate(new SecureRandom())) {
              byte[] priv = k.encodePrivate(InsecureSecretAccess.get());
              Files.writeString(
                  keys.resolve("custodian-" + i + ".key"), HexFormat.of().formatHex(priv));
              java.util.Arrays.fill(priv, (byte) 0);
              publicKeys.add(k.publicKey());
              custody.registerCustodian(
                  k.publicKey().encode(), RootCustody.Kind.OPERATOR, "custodian " + i);
            }
          }
          RootBackup backup =
              RootBackup.create(GENERATION, secret, 2, publicKeys, new SecureRandom());
          new BackupStore(store).write(backup);
          custody.publishBackup(
              GENERATION,
              backup.commitments().encode(),
              backup.shares().stream().map(s -> s.custodian().id()).toList(),
              backup.envelopeDigests());
        } finally {
          java.util.Arrays.fill(root, (byte) 0);
        }
      }
      Files.writeString(
          keys.resolve("owner.key"),
          Numeric.toHexStringNoPrefixZeroPadded(owner.getEcKeyPair().getPrivateKey(), 64));
      Map<String, String> config = new HashMap<>();
      config.put("teekms.chain.rpc-url", anvil.rpcUrl());
      config.put("teekms.chain.chain-id", String.valueOf(AnvilNode.CHAIN_ID));
      config.put("teekms.chain.registry-address", registryAddress);
      config.put("teekms.chain.confirmations", "0");
      config.put("teekms.custody.enabled", "true");
      config.put("teekms.custody.contract-address", custodyAddress);
      config.put("teekms.custody.threshold", "2");
      config.put("teekms.custody.store", store.toString());
      config.put("teekms.custody.recover-generation", String.valueOf(GENERATION));
      config.put("recovery-it.keys-dir", keys.toString());
      return config;
    } catch (Exception e) {
      throw new IllegalStateException("could not set up the lost deployment on anvil", e);
    }
  }

  @Override
  public void stop() {
    if (anvil != null) anvil.close();
  }
}
