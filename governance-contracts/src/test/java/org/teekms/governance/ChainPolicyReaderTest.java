package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.governance.testing.AnvilNode;

class ChainPolicyReaderTest extends AnvilTestBase {

  private AppPolicy allowedApp() throws Exception {
    AppPolicy app = newApp();
    allowOsImage(b32(3));
    app.addComposeHash(b32(1));
    app.addDevice(b32(2));
    return app;
  }

  private static ChainPolicyReader reader(int confirmations, AtomicLong clock) {
    PolicyReaderConfig config =
        PolicyReaderConfig.defaults(anvil.rpcUrl(), AnvilNode.CHAIN_ID, registry.address())
            .withConfirmations(confirmations, false)
            .withCache(Duration.ofSeconds(30), 100);
    return new ChainPolicyReader(config, clock::get);
  }

  @Test
  void decisionComesFromThePinnedBlock() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    try (ChainPolicyReader reader = reader(2, new AtomicLong())) {
      // The last changes are not yet 2 blocks deep: the pinned block predates them.
      long head = chain.blockNumber();
      PolicyDecision early = reader.isAppAllowed(boot);
      assertFalse(early.allowed());
      assertTrue(early.chainAnswered());
      assertEquals(head - 2, early.blockNumber());
      assertEquals(
          chain
              .block(
                  org.web3j.protocol.core.DefaultBlockParameter.valueOf(
                      java.math.BigInteger.valueOf(head - 2)))
              .orElseThrow()
              .getHash(),
          early.blockHash());

      anvil.mine(2);
      PolicyDecision now = reader.isAppAllowed(boot);
      assertTrue(now.allowed(), now.toString());
      assertEquals("", now.reason());
      assertEquals(head, now.blockNumber());
      assertNull(now.failure());

      PolicyDecision denied = reader.isAppAllowed(boot.withComposeHash(Bytes.copyOf(b32(9))));
      assertFalse(denied.allowed());
      assertEquals("compose hash not allowed", denied.reason());
      assertTrue(denied.chainAnswered());
    }
  }

  @Test
  void aCachedAllowIsNeverServedToABootWithAnotherMrSystem() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    PolicyReaderConfig config =
        PolicyReaderConfig.defaults(anvil.rpcUrl(), AnvilNode.CHAIN_ID, registry.address())
            .withConfirmations(0, false)
            .withCache(Duration.ofMinutes(5), 100);
    try (ChainPolicyReader reader = new ChainPolicyReader(config)) {
      assertTrue(reader.isAppAllowed(boot).allowed());
      PolicyDecision forged = reader.isAppAllowed(boot.withMrSystem(Bytes.copyOf(b32(66)), false));
      assertFalse(forged.allowed());
      assertEquals("OS image measurement mismatch", forged.reason());
    }
  }

  @Test
  void allowedDecisionCarriesKeyVersionsOfThePinnedBlock() throws Exception {
    AppPolicy app = allowedApp();
    app.rotateKeys();
    app.setRotationPeriod(86400);
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    try (ChainPolicyReader reader = reader(1, new AtomicLong())) {
      anvil.mine(1);
      PolicyDecision d = reader.isAppAllowed(boot);
      assertTrue(d.allowed());
      assertEquals(
          new AppKeyVersions(2, 1, 86400, app.keyVersions().lastRotationEpochSeconds()),
          d.keyVersions());
      app.rotateKeys();
      app.setMinKeyVersion(3);
      // One confirmation: the pinned block still predates the last change.
      PolicyDecision pinned = reader.isAppAllowed(boot);
      assertEquals(3, pinned.keyVersions().current());
      assertEquals(1, pinned.keyVersions().minimum());
      anvil.mine(1);
      AppKeyVersions now = reader.isAppAllowed(boot).keyVersions();
      assertEquals(3, now.current());
      assertEquals(3, now.minimum());
      assertFalse(now.serves(2));
      assertNull(
          reader.isAppAllowed(boot.withComposeHash(Bytes.copyOf(b32(9)))).keyVersions(),
          "denials carry none");
      assertEquals(
          GpuPolicy.NONE, reader.isAppAllowed(boot).gpuPolicy(), "default: no GPU required");
      assertNull(
          reader.isAppAllowed(boot.withComposeHash(Bytes.copyOf(b32(9)))).gpuPolicy(),
          "denials carry no GPU policy");
    }
  }

  @Test
  void publishedRootKeysAreReadAtThePinnedBlock() throws Exception {
    long next = registry.kmsGeneration() + 1;
    try (ChainPolicyReader reader = reader(0, new AtomicLong())) {
      PublishedRootKeys before = reader.kmsRootPublicKeys(next);
      assertEquals(PublishedRootKeys.Status.NOT_PUBLISHED, before.status(), before.toString());
      assertTrue(before.rootPublicKeys().isEmpty());
      byte[] keys = b32(0x41);
      registry.setKmsIdentity(next, keys, new byte[] {1}, new byte[] {2});
      PublishedRootKeys after = reader.kmsRootPublicKeys(next);
      assertEquals(PublishedRootKeys.Status.PUBLISHED, after.status(), after.toString());
      assertArrayEquals(keys, after.rootPublicKeys().orElseThrow().toByteArray());
      assertTrue(after.blockNumber() > 0);
      assertEquals(PublishedRootKeys.Status.UNAVAILABLE, reader.kmsRootPublicKeys(0).status());
      assertEquals(
          PublishedRootKeys.Status.NOT_PUBLISHED, reader.kmsRootPublicKeys(next + 1).status());
    }
  }

  @Test
  void isKmsAllowed() throws Exception {
    registry.addKmsMeasurement(b32(77));
    registry.addKmsDevice(b32(2));
    allowOsImage(b32(3));
    BootInfo kms = boot(addr(stranger), b32(1), b32(2), b32(3));
    try (ChainPolicyReader reader = reader(0, new AtomicLong())) {
      PolicyDecision d = reader.isKmsAllowed(kms);
      assertTrue(d.allowed(), d.toString());
      assertNull(d.keyVersions());
      registry.removeKmsDevice(b32(2));
      assertEquals("KMS device not allowed", reader.isKmsAllowed(kms).reason());
    }
  }

  @Test
  void decisionsAreCachedPerBlockForABoundedTime() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    AtomicLong clock = new AtomicLong();
    try (ChainPolicyReader reader = reader(0, clock)) {
      assertTrue(reader.isAppAllowed(boot).allowed());
      assertEquals(1, reader.cacheSize());
      assertTrue(reader.isAppAllowed(boot).allowed());
      assertEquals(1, reader.cacheSize(), "same block, same boot: served from the cache");
      // A policy change is a new block, hence a new key: never a stale answer from the cache.
      app.removeComposeHash(b32(1));
      assertEquals("compose hash not allowed", reader.isAppAllowed(boot).reason());
      assertEquals(2, reader.cacheSize());
      clock.addAndGet(Duration.ofSeconds(31).toNanos());
      assertFalse(reader.isAppAllowed(boot).allowed());
      // Both decisions expired; expired entries leave the cache, and the re-read one is cached
      // again.
      assertEquals(1, reader.cacheSize(), "expired entries dropped, the fresh decision cached");
    }
  }

  @Test
  void aPinnedBlockIsReusedForABoundedTimeAndEveryDecisionStillCallsTheChain() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    AtomicLong clock = new AtomicLong();
    PolicyReaderConfig config =
        PolicyReaderConfig.defaults(anvil.rpcUrl(), AnvilNode.CHAIN_ID, registry.address())
            .withConfirmations(0, false)
            .withCache(Duration.ofSeconds(30), 100);
    try (ChainPolicyReader reader =
        new ChainPolicyReader(config, Duration.ofSeconds(2), clock::get)) {
      PolicyDecision first = reader.isAppAllowed(boot);
      assertTrue(first.allowed());
      app.removeComposeHash(b32(1)); // a new block
      PolicyDecision reused = reader.isAppAllowed(boot);
      assertEquals(
          first.blockNumber(), reused.blockNumber(), "within the reuse window: same pinned block");
      assertTrue(reused.allowed());
      assertEquals(first.keyVersions(), reused.keyVersions());
      clock.addAndGet(Duration.ofSeconds(2).toNanos());
      PolicyDecision fresh = reader.isAppAllowed(boot);
      assertTrue(fresh.blockNumber() > first.blockNumber(), "window over: the head is read again");
      assertEquals("compose hash not allowed", fresh.reason());
    }
  }

  @Test
  @SuppressWarnings("try") // the node is stopped inside the try on purpose
  void aReusedPinServesNothingWithoutALiveChain() throws Exception {
    try (AnvilNode own = AnvilNode.start();
        ChainClient ownChain = ChainClient.connect(own.rpcUrl(), AnvilNode.CHAIN_ID)) {
      var op = own.fundedAccount();
      KmsRegistry reg = KmsRegistry.deploy(ownChain, op, op.getAddress()).registry();
      AppPolicy app = AppPolicy.at(ownChain, reg.registerApp(op.getAddress()).appId(), op);
      reg.addOsImage(b32(3));
      reg.addOsImageMeasurement(b32(3), MR_SYSTEM);
      app.addComposeHash(b32(1));
      app.setAllowAnyDevice(true);
      BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
      PolicyReaderConfig config =
          PolicyReaderConfig.defaults(own.rpcUrl(), AnvilNode.CHAIN_ID, reg.address())
              .withConfirmations(0, false);
      try (ChainPolicyReader reader = new ChainPolicyReader(config, Duration.ofMinutes(5))) {
        assertTrue(reader.isAppAllowed(boot).allowed());
        own.close();
        PolicyDecision d = reader.isAppAllowed(boot);
        assertFalse(d.allowed(), "same boot, reused pin, cached decision: still needs the chain");
        assertEquals(PolicyDecision.Failure.RPC_UNAVAILABLE, d.failure());
      }
    }
  }

  @Test
  void cacheIsBounded() throws Exception {
    AppPolicy app = allowedApp();
    PolicyReaderConfig config =
        PolicyReaderConfig.defaults(anvil.rpcUrl(), AnvilNode.CHAIN_ID, registry.address())
            .withConfirmations(0, false)
            .withCache(Duration.ofMinutes(5), 3);
    try (ChainPolicyReader reader = new ChainPolicyReader(config)) {
      for (int i = 0; i < 10; i++)
        reader.isAppAllowed(boot(app.address(), b32(100 + i), b32(2), b32(3)));
      assertEquals(3, reader.cacheSize());
    }
  }

  @Test
  void unreachableRpcDenies() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    String deadUrl;
    try (AnvilNode other = AnvilNode.start()) {
      deadUrl = other.rpcUrl();
    }
    PolicyReaderConfig config =
        PolicyReaderConfig.defaults(deadUrl, AnvilNode.CHAIN_ID, registry.address());
    try (ChainPolicyReader reader = new ChainPolicyReader(config)) {
      PolicyDecision d = reader.isAppAllowed(boot);
      assertFalse(d.allowed());
      assertEquals(PolicyDecision.Failure.RPC_UNAVAILABLE, d.failure());
      assertTrue(d.reason().startsWith("chain RPC unreachable at " + deadUrl), d.reason());
      assertEquals(-1, d.blockNumber());
      assertEquals(PolicyDecision.Failure.RPC_UNAVAILABLE, reader.isKmsAllowed(boot).failure());
      PublishedRootKeys keys = reader.kmsRootPublicKeys(1);
      assertEquals(PublishedRootKeys.Status.UNAVAILABLE, keys.status());
      assertTrue(keys.reason().startsWith("chain RPC unreachable at " + deadUrl), keys.reason());
    }
  }

  @Test
  @SuppressWarnings("try") // the node is stopped inside the try on purpose
  void rpcGoingDownAfterCachingStillDenies() throws Exception {
    try (AnvilNode own = AnvilNode.start();
        ChainClient ownChain = ChainClient.connect(own.rpcUrl(), AnvilNode.CHAIN_ID)) {
      var op = own.fundedAccount();
      KmsRegistry reg = KmsRegistry.deploy(ownChain, op, op.getAddress()).registry();
      AppPolicy app = AppPolicy.at(ownChain, reg.registerApp(op.getAddress()).appId(), op);
      reg.addOsImage(b32(3));
      reg.addOsImageMeasurement(b32(3), MR_SYSTEM);
      app.addComposeHash(b32(1));
      app.setAllowAnyDevice(true);
      BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
      PolicyReaderConfig config =
          PolicyReaderConfig.defaults(own.rpcUrl(), AnvilNode.CHAIN_ID, reg.address())
              .withConfirmations(0, false);
      try (ChainPolicyReader reader = new ChainPolicyReader(config)) {
        assertTrue(reader.isAppAllowed(boot).allowed());
        own.close();
        PolicyDecision d = reader.isAppAllowed(boot);
        assertFalse(d.allowed(), "a cached allow is not served without a live chain");
        assertEquals(PolicyDecision.Failure.RPC_UNAVAILABLE, d.failure());
      }
    }
  }

  @Test
  void wrongChainIdDenies() throws Exception {
    AppPolicy app = allowedApp();
    PolicyReaderConfig config = PolicyReaderConfig.defaults(anvil.rpcUrl(), 1, registry.address());
    try (ChainPolicyReader reader = new ChainPolicyReader(config)) {
      PolicyDecision d = reader.isAppAllowed(boot(app.address(), b32(1), b32(2), b32(3)));
      assertFalse(d.allowed());
      assertEquals(PolicyDecision.Failure.WRONG_CHAIN, d.failure());
      assertEquals(
          "wrong chain: " + anvil.rpcUrl() + " serves chain id 31337, expected 1", d.reason());
    }
  }

  @Test
  void noRegistryAtThePinnedBlockDenies() throws Exception {
    PolicyReaderConfig config =
        PolicyReaderConfig.defaults(anvil.rpcUrl(), AnvilNode.CHAIN_ID, addr(stranger))
            .withConfirmations(0, false);
    try (ChainPolicyReader reader = new ChainPolicyReader(config)) {
      PolicyDecision d = reader.isAppAllowed(boot(addr(stranger), b32(1), b32(2), b32(3)));
      assertFalse(d.allowed());
      assertEquals(PolicyDecision.Failure.CALL_FAILED, d.failure());
      assertTrue(d.reason().contains("returned no data"), d.reason());
    }
  }

  @Test
  void reorgPastThePinnedBlockDenies() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    anvil.mine(5);
    try (ChainPolicyReader reader = reader(2, new AtomicLong())) {
      PolicyDecision before = reader.isAppAllowed(boot);
      assertTrue(before.allowed(), before.toString());
      // Replace the last 4 blocks: the pinned block (head - 2) gets another hash.
      anvil.call("anvil_reorg", 4, java.util.List.of());
      PolicyDecision d = reader.isAppAllowed(boot);
      assertFalse(d.allowed());
      assertEquals(PolicyDecision.Failure.REORG, d.failure());
      assertTrue(
          d.reason().startsWith("chain reorganized past pinned block " + before.blockNumber()),
          d.reason());
      assertEquals(0, reader.cacheSize(), "cache dropped");
      // The next read works on the new chain.
      PolicyDecision after = reader.isAppAllowed(boot);
      assertTrue(after.allowed(), after.toString());
      assertNotEquals(before.blockHash(), after.blockHash());
    }
  }

  @Test
  void reorgViaSnapshotRevertDenies() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    String fork = anvil.snapshot();
    anvil.mine(3);
    try (ChainPolicyReader reader = reader(1, new AtomicLong())) {
      PolicyDecision before = reader.isAppAllowed(boot);
      assertTrue(before.allowed());
      anvil.revert(fork); // back to the fork point: the pinned block is gone
      anvil.increaseTime(7); // different timestamps, hence different block hashes
      app.setDisabled(true); // and the replacement chain carries another policy
      anvil.mine(3);
      PolicyDecision d = reader.isAppAllowed(boot);
      assertEquals(PolicyDecision.Failure.REORG, d.failure(), d.toString());
      assertFalse(d.allowed());
      assertEquals("app disabled", reader.isAppAllowed(boot).reason());
    }
  }

  @Test
  void finalizedTagIsUsedWhenSupported() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    PolicyReaderConfig config =
        PolicyReaderConfig.defaults(anvil.rpcUrl(), AnvilNode.CHAIN_ID, registry.address())
            .withConfirmations(0, true);
    try (ChainPolicyReader reader = new ChainPolicyReader(config)) {
      PolicyDecision d = reader.isAppAllowed(boot);
      long finalized =
          chain
              .block(org.web3j.protocol.core.DefaultBlockParameterName.FINALIZED)
              .orElseThrow()
              .getNumber()
              .longValueExact();
      // anvil reports a block far behind head as finalized: the registry did not exist there yet.
      assertEquals(finalized, d.blockNumber());
      assertFalse(d.allowed());
      assertTrue(finalized < chain.blockNumber());
    }
  }
}
