package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.governance.testing.RpcProxy;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.utils.Numeric;

/**
 * No single RPC endpoint decides: the reader reads from k of n endpoints, and any endpoint that
 * answers differently (a lying provider, a node on another chain) denies. Real anvil nodes; lying
 * endpoints are {@link RpcProxy}s that rewrite a real node's answers.
 */
class QuorumPolicyReaderTest extends AnvilTestBase {

  private AppPolicy allowedApp() throws Exception {
    AppPolicy app = newApp();
    allowOsImage(b32(3));
    app.addComposeHash(b32(1));
    app.addDevice(b32(2));
    return app;
  }

  private static PolicyReaderConfig quorum(List<String> urls, int k) {
    return PolicyReaderConfig.defaults(urls.get(0), AnvilNode.CHAIN_ID, registry.address())
        .withConfirmations(0, false)
        .withCache(Duration.ZERO, 0)
        .withQuorum(urls, k);
  }

  /** The call data of isAppAllowed(boot), from the generated wrapper. */
  private static String isAppAllowedCall(BootInfo boot) {
    return org.teekms.governance.contracts.KmsRegistryContract.getABI_isAppAllowed(
        boot.registryStruct());
  }

  @Test
  void threeHonestEndpointsAgreeAndAllow() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    try (RpcProxy b = RpcProxy.honest(anvil.rpcUrl());
        RpcProxy c = RpcProxy.honest(anvil.rpcUrl());
        ChainPolicyReader reader =
            new ChainPolicyReader(quorum(List.of(anvil.rpcUrl(), b.rpcUrl(), c.rpcUrl()), 2))) {
      PolicyDecision d = reader.isAppAllowed(boot);
      assertTrue(d.allowed(), d.toString());
      assertEquals(chain.blockNumber(), d.blockNumber());
      assertEquals(
          new RootAnchor(0, List.of()), d.rootAnchor(), "no root generation published yet");
      PolicyDecision denied = reader.isAppAllowed(boot.withComposeHash(Bytes.copyOf(b32(9))));
      assertEquals(ChainDenial.COMPOSE_HASH_NOT_ALLOWED, denied.denial());
      assertEquals("compose hash not allowed", denied.reason());
      assertEquals(ChainDenial.NONE, d.denial());
      assertEquals(0, reader.disagreements());
    }
  }

  /**
   * The policy an end user's verifier checks responses against (appPolicy): read at one block
   * through the quorum, so an endpoint that adds a compose hash the owner never registered makes it
   * unreadable, never wider.
   */
  @Test
  void anAppPolicyIsUnreadableWhenOneEndpointLiesAboutItsComposeHashes() throws Exception {
    AppPolicy app = allowedApp();
    AppPolicy other = newApp();
    other.addComposeHash(b32(9));
    String call =
        org.web3j.abi.FunctionEncoder.encode(
            new org.web3j.abi.datatypes.Function("composeHashes", List.of(), List.of()));
    String forged = chain.call(other.address(), call, DefaultBlockParameterName.LATEST);
    RpcProxy.Rewriter lie =
        (method, params, response) -> {
          if (method.equals("eth_call") && params.get(0).path("data").asText().equals(call)) {
            response.put("result", forged);
          }
        };
    try (ChainPolicyReader alone = new ChainPolicyReader(quorum(List.of(anvil.rpcUrl()), 1))) {
      OnChainAppPolicy p = alone.appPolicy(app.address());
      assertEquals(java.util.Optional.empty(), p.failure());
      assertEquals(KmsRegistry.AppStatus.REGISTERED, p.status());
      assertEquals(List.of(Numeric.toHexString(b32(1))), p.composeHashes());
      assertTrue(p.osImages().containsKey(Numeric.toHexString(b32(3))), p.osImages().toString());
      assertEquals(chain.blockNumber(), p.blockNumber());
      assertEquals(1, p.keys().current());
      assertTrue(p.appRefusal().isEmpty());
      assertTrue(
          alone
              .appPolicy(Numeric.toHexString(b20(77)))
              .appRefusal()
              .orElseThrow()
              .contains("not registered"));
      assertTrue(alone.appPolicy("0x12").failure().orElseThrow().contains("20-byte address"));
    }
    try (RpcProxy honest = RpcProxy.honest(anvil.rpcUrl());
        RpcProxy liar = RpcProxy.start(anvil.rpcUrl(), lie);
        ChainPolicyReader reader =
            new ChainPolicyReader(quorum(List.of(honest.rpcUrl(), liar.rpcUrl()), 1))) {
      OnChainAppPolicy p = reader.appPolicy(app.address());
      assertTrue(
          p.failure().orElseThrow().startsWith("RPC endpoints disagree"), p.failure().toString());
      assertEquals(List.of(), p.composeHashes());
      assertEquals(1, reader.disagreements());
    }
  }

  /**
   * The history behind the policy (appHistory) stops at the block the policy was read at, and is
   * read through the quorum: an endpoint that hides one event (a compose hash added behind the
   * owner's back, say) makes it unreadable.
   */
  @Test
  void anAppsHistoryStopsAtThePinnedBlockAndIsUnreadableWhenOneEndpointHidesAnEvent()
      throws Exception {
    AppPolicy app = allowedApp();
    app.removeComposeHash(b32(1));
    try (RpcProxy honest = RpcProxy.honest(anvil.rpcUrl());
        ChainPolicyReader reader =
            new ChainPolicyReader(quorum(List.of(anvil.rpcUrl(), honest.rpcUrl()), 2))) {
      OnChainAppPolicy p = reader.appPolicy(app.address());
      app.addComposeHash(b32(5)); // after the pinned block: not part of the history read with p
      ChainPolicyReader.AppHistory h = reader.appHistory(p);
      assertEquals(java.util.Optional.empty(), h.failure());
      assertEquals(p.blockNumber(), h.blockNumber());
      List<String> events = new ArrayList<>();
      for (PolicyEvent e : h.events()) {
        events.add(e.contract() + " " + e.event());
        assertTrue(e.blockNumber() <= p.blockNumber(), e.toString());
      }
      assertTrue(
          events.containsAll(
              List.of(
                  "KmsRegistry AppRegistered",
                  "KmsRegistry OsImageAdded",
                  "AppPolicy ComposeHashAdded",
                  "AppPolicy DeviceAdded",
                  "AppPolicy ComposeHashRemoved")),
          events.toString());
      assertEquals("AppPolicy ComposeHashRemoved", events.get(events.size() - 1), "oldest first");
      assertArrayEquals(
          b32(1), (byte[]) h.events().get(h.events().size() - 1).args().get("composeHash"));
      assertEquals(
          1,
          h.events().stream().filter(e -> e.event().equals("ComposeHashAdded")).count(),
          "the later addition is not in a history read at the earlier block");
    }
    RpcProxy.Rewriter hide =
        (method, params, response) -> {
          if (method.equals("eth_getLogs")
              && response.path("result").isArray()
              && response.get("result").size() > 0) {
            ((com.fasterxml.jackson.databind.node.ArrayNode) response.get("result")).remove(0);
          }
        };
    try (RpcProxy liar = RpcProxy.start(anvil.rpcUrl(), hide);
        ChainPolicyReader reader =
            new ChainPolicyReader(quorum(List.of(anvil.rpcUrl(), liar.rpcUrl()), 1))) {
      ChainPolicyReader.AppHistory h = reader.appHistory(reader.appPolicy(app.address()));
      assertTrue(
          h.failure().orElseThrow().startsWith("RPC endpoints disagree on the history of app "),
          h.failure().toString());
      assertEquals(List.of(), h.events());
      assertEquals(1, reader.disagreements());
    }
  }

  @Test
  void oneOfThreeEndpointsRewritingTheCallResultDenies() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo allowed = boot(app.address(), b32(1), b32(2), b32(3));
    BootInfo victimClaim =
        allowed.withComposeHash(Bytes.copyOf(b32(9))); // a compose hash the owner never registered
    // What an "allowed" answer looks like on the wire: the liar returns it for every isAppAllowed
    // call.
    String allowedAnswer =
        chain.call(registry.address(), isAppAllowedCall(allowed), DefaultBlockParameterName.LATEST);
    String isAppAllowed = isAppAllowedCall(allowed).substring(0, 10); // its selector
    RpcProxy.Rewriter lie =
        (method, params, response) -> {
          if (method.equals("eth_call")
              && params.get(0).path("data").asText().startsWith(isAppAllowed)) {
            response.put("result", allowedAnswer);
          }
        };
    try (RpcProxy honest = RpcProxy.honest(anvil.rpcUrl());
        RpcProxy liar = RpcProxy.start(anvil.rpcUrl(), lie)) {
      // Alone, the lying endpoint would release the victim's keys: that is the attack.
      try (ChainPolicyReader alone = new ChainPolicyReader(quorum(List.of(liar.rpcUrl()), 1))) {
        assertTrue(alone.isAppAllowed(victimClaim).allowed(), "a single lying RPC decides (n = 1)");
      }
      // In a quorum, the honest majority does not outvote it: any disagreement denies, and is
      // counted.
      for (int k = 1; k <= 3; k++) {
        try (ChainPolicyReader reader =
            new ChainPolicyReader(
                quorum(List.of(anvil.rpcUrl(), honest.rpcUrl(), liar.rpcUrl()), k))) {
          PolicyDecision d = reader.isAppAllowed(victimClaim);
          assertFalse(d.allowed(), "k = " + k);
          assertEquals(PolicyDecision.Failure.DISAGREEMENT, d.failure(), d.toString());
          assertTrue(
              d.reason()
                  .startsWith("RPC endpoints disagree on isAppAllowed at block " + d.blockNumber()),
              d.reason());
          assertTrue(
              d.reason().contains("[" + liar.rpcUrl() + "] say " + allowedAnswer.substring(0, 74)),
              d.reason());
          assertTrue(
              d.reason().contains("[" + anvil.rpcUrl() + ", " + honest.rpcUrl() + "] say"),
              d.reason());
          assertEquals(1, reader.disagreements());
          assertEquals(
              d.blockHash(),
              chain.block(DefaultBlockParameterName.LATEST).orElseThrow().getHash(),
              "the endpoints did agree on the block");
        }
      }
    }
  }

  @Test
  void oneEndpointReportingAnotherBlockHashDenies() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    String forged = "0x" + "ab".repeat(32);
    RpcProxy.Rewriter otherFork =
        (method, params, response) -> {
          if (method.equals("eth_getBlockByNumber") && response.get("result").isObject()) {
            ((ObjectNode) response.get("result")).put("hash", forged);
          }
        };
    try (RpcProxy honest = RpcProxy.honest(anvil.rpcUrl());
        RpcProxy liar = RpcProxy.start(anvil.rpcUrl(), otherFork);
        ChainPolicyReader reader =
            new ChainPolicyReader(
                quorum(List.of(anvil.rpcUrl(), honest.rpcUrl(), liar.rpcUrl()), 2))) {
      PolicyDecision d = reader.isAppAllowed(boot);
      assertFalse(d.allowed());
      assertEquals(PolicyDecision.Failure.DISAGREEMENT, d.failure());
      assertTrue(
          d.reason().startsWith("RPC endpoints disagree on block " + chain.blockNumber() + ": "),
          d.reason());
      assertTrue(d.reason().contains("[" + liar.rpcUrl() + "] say hash " + forged), d.reason());
      assertEquals(-1, d.blockNumber(), "no block was agreed");
      assertEquals(1, reader.disagreements());
    }
  }

  /**
   * All three endpoints lie the same way (each serves its own chain where the attacker registered
   * the app), so every call result is identical; but they cannot agree on one block hash, and that
   * denies.
   */
  @Test
  void threeEndpointsLyingAlikeButDisagreeingOnTheBlockHashDeny() throws Exception {
    Credentials deployer = Credentials.create("0x" + "11".repeat(32));
    List<AnvilNode> fakes = new ArrayList<>();
    List<String> answers = new ArrayList<>();
    BootInfo boot = null;
    String fakeRegistry = null;
    try {
      for (int i = 0; i < 3; i++) {
        AnvilNode node = AnvilNode.start();
        fakes.add(node);
        node.setBalance(deployer.getAddress(), BigInteger.TEN.pow(20));
        node.increaseTime(1000L * (i + 1)); // independent chains: their blocks differ
        try (ChainClient c = ChainClient.connect(node.rpcUrl(), AnvilNode.CHAIN_ID)) {
          KmsRegistry reg = KmsRegistry.deploy(c, deployer, deployer.getAddress()).registry();
          String appId = reg.registerApp(deployer.getAddress()).appId();
          AppPolicy app = AppPolicy.at(c, appId, deployer);
          reg.addOsImage(b32(3));
          reg.addOsImageMeasurement(b32(3), MR_SYSTEM);
          app.addComposeHash(b32(9));
          app.setAllowAnyDevice(true);
          fakeRegistry =
              reg.address(); // the same deployer and nonces: the same addresses on every fake chain
          boot = boot(appId, b32(9), b32(2), b32(3));
          answers.add(
              c.call(reg.address(), isAppAllowedCall(boot), DefaultBlockParameterName.LATEST));
        }
      }
      assertEquals(1, answers.stream().distinct().count(), "all three lie alike: " + answers);
      List<String> urls = fakes.stream().map(AnvilNode::rpcUrl).toList();
      PolicyReaderConfig config =
          PolicyReaderConfig.defaults(urls.get(0), AnvilNode.CHAIN_ID, fakeRegistry)
              .withConfirmations(0, false)
              .withQuorum(urls, 3);
      try (ChainPolicyReader reader = new ChainPolicyReader(config)) {
        PolicyDecision d = reader.isAppAllowed(boot);
        assertFalse(d.allowed(), d.toString());
        assertEquals(PolicyDecision.Failure.DISAGREEMENT, d.failure());
        assertTrue(d.reason().startsWith("RPC endpoints disagree on block "), d.reason());
        for (String url : urls) assertTrue(d.reason().contains(url), d.reason());
        assertEquals(1, reader.disagreements());
      }
    } finally {
      fakes.forEach(AnvilNode::close);
    }
  }

  @Test
  void unreachableEndpointsCountOnlyAgainstTheQuorum() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    String dead;
    try (AnvilNode gone = AnvilNode.start()) {
      dead = gone.rpcUrl();
    }
    try (RpcProxy honest = RpcProxy.honest(anvil.rpcUrl())) {
      List<String> urls = List.of(anvil.rpcUrl(), honest.rpcUrl(), dead);
      try (ChainPolicyReader twoOfThree = new ChainPolicyReader(quorum(urls, 2))) {
        assertTrue(twoOfThree.isAppAllowed(boot).allowed(), "2 of 3 answered alike");
      }
      try (ChainPolicyReader threeOfThree = new ChainPolicyReader(quorum(urls, 3))) {
        PolicyDecision d = threeOfThree.isAppAllowed(boot);
        assertEquals(PolicyDecision.Failure.RPC_UNAVAILABLE, d.failure());
        assertTrue(
            d.reason()
                .startsWith(
                    "only 2 of 3 RPC endpoints answered, 3 needed: chain RPC unreachable at "
                        + dead),
            d.reason());
        assertEquals(0, threeOfThree.disagreements(), "silence is not disagreement");
      }
    }
  }

  @Test
  void aPinnedBlockOlderThanTheMaximumAgeIsRefused() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    long blockTime =
        chain.block(DefaultBlockParameterName.LATEST).orElseThrow().getTimestamp().longValueExact();
    // The endpoints serve a chain whose newest block is 31 minutes old by our clock (a frozen or
    // replayed chain).
    Clock later =
        Clock.fixed(java.time.Instant.ofEpochSecond(blockTime + 31 * 60), java.time.ZoneOffset.UTC);
    PolicyReaderConfig config = quorum(List.of(anvil.rpcUrl()), 1);
    try (ChainPolicyReader reader =
        new ChainPolicyReader(config, Duration.ZERO, System::nanoTime, later)) {
      PolicyDecision d = reader.isAppAllowed(boot);
      assertEquals(PolicyDecision.Failure.STALE_BLOCK, d.failure(), d.toString());
      assertTrue(
          d.reason().contains("is " + 31 * 60 + " s old, more than the 1800 s allowed"),
          d.reason());
    }
    Clock nearly =
        Clock.fixed(java.time.Instant.ofEpochSecond(blockTime + 29 * 60), java.time.ZoneOffset.UTC);
    try (ChainPolicyReader reader =
        new ChainPolicyReader(
            config.withMaxBlockAge(Duration.ofMinutes(30)),
            Duration.ZERO,
            System::nanoTime,
            nearly)) {
      assertTrue(reader.isAppAllowed(boot).allowed());
    }
  }

  @Test
  void theReaderNeverGoesBackToABlockOlderThanOneAlreadySeen() throws Exception {
    AppPolicy app = allowedApp();
    BootInfo boot = boot(app.address(), b32(1), b32(2), b32(3));
    try (RpcProxy endpoint = RpcProxy.honest(anvil.rpcUrl());
        ChainPolicyReader reader = new ChainPolicyReader(quorum(List.of(endpoint.rpcUrl()), 1))) {
      PolicyDecision first = reader.isAppAllowed(boot);
      assertTrue(first.allowed());
      long seen = first.blockNumber();
      // The endpoint now serves an older view of the chain (before the app was allowed): head seen
      // - 3, and it
      // pretends not to know the newer blocks.
      AtomicLong fakeHead = new AtomicLong(seen - 3);
      endpoint.rewriteWith(
          (method, params, response) -> {
            if (method.equals("eth_blockNumber"))
              response.put(
                  "result", Numeric.toHexStringWithPrefix(BigInteger.valueOf(fakeHead.get())));
            if (method.equals("eth_getBlockByNumber")
                && Numeric.decodeQuantity(params.get(0).asText()).longValueExact()
                    > fakeHead.get()) {
              response.putNull("result");
            }
          });
      PolicyDecision d = reader.isAppAllowed(boot);
      assertFalse(d.allowed());
      assertEquals(PolicyDecision.Failure.STALE_BLOCK, d.failure(), d.toString());
      assertTrue(
          d.reason().contains("has no block " + seen + " (the newest block already seen) yet"),
          d.reason());
      assertTrue(d.reason().endsWith("refused (monotonic)"), d.reason());
    }
  }
}
