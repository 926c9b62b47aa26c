package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.boot.ChainKmsRegistry;
import org.teekms.agent.boot.PublishedKmsIdentity;
import org.teekms.crypto.Bytes;
import org.teekms.governance.ChainClient;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.web3j.crypto.Credentials;

/**
 * A KMS the registry lists must also serve the KMS identity published there (real local chain):
 * unpublished, another root, another CA certificate = the agent refuses to boot, with the reason.
 */
class PublishedKmsIdentityTest {

  private static byte[] sha256(byte[] b) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }

  /** A registry on anvil listing {@code kms} as an allowed KMS; returns its reader config. */
  private static PolicyReaderConfig registryListing(AnvilNode anvil, TestKms kms, KmsRegistry[] out)
      throws Exception {
    ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    Credentials operator = anvil.fundedAccount();
    KmsRegistry registry = KmsRegistry.deploy(chain, operator, operator.getAddress()).registry();
    var boot = ChainKmsRegistry.bootInfo(kms.identity);
    registry.addKmsMeasurement(boot.mrAggregated().toByteArray());
    registry.addKmsDevice(boot.deviceId().toByteArray());
    registry.addOsImage(boot.osImageHash().toByteArray());
    registry.setTcbPolicy(List.of("UpToDate"), List.of());
    out[0] = registry;
    return PolicyReaderConfig.defaults(anvil.rpcUrl(), AnvilNode.CHAIN_ID, registry.address())
        .withConfirmations(0, false)
        .withCache(Duration.ZERO, 0);
  }

  private static RunningAgent boot(TestKms kms, PolicyReaderConfig config) throws BootFailure {
    return AgentFixture.boot(
        kms,
        AgentFixture.COMPOSE,
        new ChainKmsRegistry(new ChainPolicyReader(config)),
        PublishedKmsIdentity.onChain(config),
        1,
        new AgentFixture.RecordingSleeper(),
        null);
  }

  @Test
  void aRegisteredKmsMustServeThePublishedIdentity() throws Exception {
    try (AnvilNode anvil = AnvilNode.start();
        TestKms kms = new TestKms("{\"name\":\"kms\"}")) {
      kms.allow(
          AgentFixture.APP,
          AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
              .composeHash()
              .toByteArray());
      KmsRegistry[] r = new KmsRegistry[1];

      PolicyReaderConfig unpublished = registryListing(anvil, kms, r);
      BootFailure none = assertThrows(BootFailure.class, () -> boot(kms, unpublished));
      assertEquals("KMS_IDENTITY_UNAVAILABLE", none.reason(), none.getMessage());
      assertTrue(none.getMessage().contains("generation 1"), none.getMessage());

      PolicyReaderConfig otherRoot = registryListing(anvil, kms, r);
      byte[] foreign;
      try (var k =
          new KmsKeyDeriver(
                  new RootKeyring(
                      1, RootKeyring.generateRootSecret(new java.security.SecureRandom())))
              .kmsRootKey(1)) {
        foreign = k.publicKey();
      }
      r[0].setKmsIdentity(1, foreign, TestKms.KMS_CA_X509, new byte[] {1});
      BootFailure root = assertThrows(BootFailure.class, () -> boot(kms, otherRoot));
      assertEquals("KMS_IDENTITY_MISMATCH", root.reason());
      assertTrue(
          root.getMessage().contains(kms.rootAddress().toChecksumString())
              && root.getMessage().contains("registry at block"),
          root.getMessage());

      PolicyReaderConfig otherCa = registryListing(anvil, kms, r);
      r[0].setKmsIdentity(
          1, kms.rootPublicKey(), "another CA".getBytes(StandardCharsets.UTF_8), new byte[] {1});
      BootFailure ca = assertThrows(BootFailure.class, () -> boot(kms, otherCa));
      assertEquals("KMS_IDENTITY_MISMATCH", ca.reason());
      assertTrue(ca.getMessage().contains("KMS CA certificate"), ca.getMessage());

      PolicyReaderConfig published = registryListing(anvil, kms, r);
      r[0].setKmsIdentity(1, kms.rootPublicKey(), TestKms.KMS_CA_X509, new byte[] {1});
      try (RunningAgent agent = boot(kms, published)) {
        assertEquals(kms.rootAddress(), agent.keys().kmsRootAddress());
      }

      // A later rotation retires generation 1: still live, its keys are accepted.
      r[0].setKmsIdentity(2, foreign, TestKms.KMS_CA_X509, new byte[] {2});
      try (RunningAgent agent = boot(kms, published)) {
        assertEquals(kms.rootAddress(), agent.keys().kmsRootAddress());
      }
      // The owner destroys it on chain: a KMS still serving it (a database restored from a backup)
      // is refused.
      r[0].destroyRootGeneration(1);
      BootFailure dead = assertThrows(BootFailure.class, () -> boot(kms, published));
      assertEquals("KMS_GENERATION_NOT_LIVE", dead.reason());
      assertTrue(
          dead.getMessage()
              .contains(
                  "the keys come from KMS root generation 1, which the registry says is "
                      + "DESTROYED (registry at block "),
          dead.getMessage());
    }
  }

  @Test
  void anUnreadableRegistryOrAnUnusableEntryRefuses() throws Exception {
    try (TestKms kms = new TestKms("{\"name\":\"kms\"}")) {
      kms.allow(
          AgentFixture.APP,
          AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
              .composeHash()
              .toByteArray());
      PublishedKmsIdentity.Registry down =
          g -> {
            throw new GovernanceException(GovernanceException.Kind.RPC, "connection refused");
          };
      BootFailure f =
          assertThrows(
              BootFailure.class,
              () ->
                  AgentFixture.boot(
                      kms,
                      AgentFixture.COMPOSE,
                      AgentFixture.registering(kms),
                      down,
                      1,
                      new AgentFixture.RecordingSleeper(),
                      null));
      assertEquals("KMS_IDENTITY_UNAVAILABLE", f.reason());
      byte[] caHash = sha256(TestKms.KMS_CA_X509);
      PublishedKmsIdentity.Registry garbage =
          g ->
              new PublishedKmsIdentity.Entry(
                  g,
                  new KmsRegistry.KmsIdentity(
                      Bytes.copyOf(new byte[] {9, 9}),
                      Bytes.copyOf(caHash),
                      Bytes.copyOf(new byte[32]),
                      1),
                  org.teekms.governance.RootAnchor.State.CURRENT,
                  5,
                  "0xab");
      BootFailure notAKey =
          assertThrows(
              BootFailure.class,
              () ->
                  AgentFixture.boot(
                      kms,
                      AgentFixture.COMPOSE,
                      AgentFixture.registering(kms),
                      garbage,
                      1,
                      new AgentFixture.RecordingSleeper(),
                      null));
      assertTrue(notAKey.getMessage().contains("not a secp256k1 key"), notAKey.getMessage());
    }
  }
}
