package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.boot.ChainKmsRegistry;
import org.teekms.governance.ChainClient;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.governance.testing.AnvilNode;
import org.web3j.crypto.Credentials;

/**
 * The agent trusts a KMS the governance contract registers (real local chain: anvil + KmsRegistry).
 */
class ChainKmsRegistryTest {
  @Test
  void aKmsIsTrustedExactlyWhileTheRegistryListsIt() throws Exception {
    try (AnvilNode anvil = AnvilNode.start();
        TestKms kms = new TestKms("{\"name\":\"kms\"}")) {
      ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
      Credentials operator = anvil.fundedAccount();
      KmsRegistry registry = KmsRegistry.deploy(chain, operator, operator.getAddress()).registry();
      ChainKmsRegistry onChain =
          new ChainKmsRegistry(
              new ChainPolicyReader(
                  PolicyReaderConfig.defaults(
                          anvil.rpcUrl(), AnvilNode.CHAIN_ID, registry.address())
                      .withConfirmations(0, false)
                      .withCache(Duration.ZERO, 0)));
      kms.allow(
          AgentFixture.APP,
          AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
              .composeHash()
              .toByteArray());

      BootFailure unknown =
          assertThrows(
              BootFailure.class,
              () ->
                  AgentFixture.boot(
                      kms,
                      AgentFixture.COMPOSE,
                      onChain,
                      1,
                      new AgentFixture.RecordingSleeper(),
                      null));
      assertEquals("RETRIES_EXHAUSTED", unknown.reason());
      assertEquals(0, kms.getAppKeysCalls.get(), "an unregistered KMS never sees our request");

      var boot = ChainKmsRegistry.bootInfo(kms.identity);
      registry.addKmsMeasurement(boot.mrAggregated().toByteArray());
      registry.addKmsDevice(boot.deviceId().toByteArray());
      registry.addOsImage(boot.osImageHash().toByteArray());
      registry.setTcbPolicy(List.of("UpToDate"), List.of());
      try (RunningAgent agent =
          AgentFixture.boot(
              kms, AgentFixture.COMPOSE, onChain, 1, new AgentFixture.RecordingSleeper(), null)) {
        assertEquals(kms.identity.mrAggregated(), agent.kmsIdentity().orElseThrow().mrAggregated());
      }

      registry.removeKmsMeasurement(boot.mrAggregated().toByteArray());
      assertThrows(
          BootFailure.class,
          () ->
              AgentFixture.boot(
                  kms,
                  AgentFixture.COMPOSE,
                  onChain,
                  1,
                  new AgentFixture.RecordingSleeper(),
                  null));
      assertEquals(1, kms.getAppKeysCalls.get());
    }
  }
}
