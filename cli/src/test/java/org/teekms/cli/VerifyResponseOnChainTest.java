package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GpuPolicy;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.testing.AnvilNode;
import org.web3j.crypto.Credentials;

/**
 * {@code teekms verify response --rpc-url --chain-id --registry --app}: the expected identity is
 * the app's on-chain policy at a pinned block, on a real local chain (anvil) with the governance
 * contracts. Each test works on its own apps, so the order of the tests does not matter.
 */
@Timeout(120)
class VerifyResponseOnChainTest {
  static final HexFormat HEX = HexFormat.of();
  static AnvilNode anvil;
  static ChainClient chain;
  static Credentials owner;
  static KmsRegistry registry;
  @TempDir Path dir;

  @BeforeAll
  static void chain() throws Exception {
    anvil = AnvilNode.start();
    chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    owner = anvil.fundedAccount();
    registry = KmsRegistry.deploy(chain, owner, owner.getAddress()).registry();
    registry.setTcbPolicy(List.of("UpToDate"), List.of());
    registry.addOsImage(SignedExchange.OS_IMAGE);
  }

  @AfterAll
  static void stop() {
    if (chain != null) chain.close();
    if (anvil != null) anvil.close();
  }

  /** A registered app allowing the test compose hash, requiring one HOPPER GPU. */
  static AppPolicy app() throws Exception {
    String id = registry.registerApp(owner.getAddress()).appId();
    AppPolicy app = AppPolicy.at(chain, id, owner);
    app.addComposeHash(
        org.teekms.crypto.Digests.sha256(
            SignedExchange.COMPOSE.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    app.setGpuRequirements(new GpuPolicy(1, "HOPPER", 0));
    return app;
  }

  SignedExchange exchange(AppPolicy app, String name) throws Exception {
    SignedExchange x =
        SignedExchange.create(
            dir.resolve(name),
            HEX.parseHex(app.address().substring(2)),
            SignedExchange.COMPOSE,
            SignedExchange.OS_IMAGE);
    if (!registry.isOsImageMeasurementAllowed(SignedExchange.OS_IMAGE, x.mrSystem())) {
      registry.addOsImageMeasurement(SignedExchange.OS_IMAGE, x.mrSystem());
    }
    return x;
  }

  List<String> onChain(SignedExchange x, String app, String... more) {
    List<String> a = new ArrayList<>(x.args());
    a.addAll(
        List.of(
            "--rpc-url",
            anvil.rpcUrl(),
            "--chain-id",
            Long.toString(AnvilNode.CHAIN_ID),
            "--registry",
            registry.address(),
            "--app",
            app));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void acceptsAResponseOfTheAppAndSaysWhichBlockItRead() throws Exception {
    AppPolicy app = app();
    SignedExchange x = exchange(app, "ok");
    VerifyResponseCommandTest.Run r = VerifyResponseCommandTest.run(onChain(x, app.address()));
    assertEquals(0, r.exit(), r.err() + r.json());
    assertEquals("compose hash (on chain)", r.json().at("/checks/5/name").asText());
    assertTrue(
        r.json()
            .get("expected")
            .asText()
            .startsWith(
                "chain 31337, registry "
                    + registry.address()
                    + ", app "
                    + app.address()
                    + ", block "),
        r.json().get("expected").asText());
    assertTrue(
        r.json()
            .at("/checks/6/detail")
            .asText()
            .contains("meets at least 1 GPU(s) of HOPPER, RIMs matched"),
        r.json().at("/checks/6/detail").asText());
  }

  /** A genuine, validly signed response of another app's CVM is not this app's answer. */
  @Test
  void rejectsAResponseFromAnotherAppsCvm() throws Exception {
    AppPolicy mine = app();
    AppPolicy theirs = app();
    SignedExchange x = exchange(theirs, "theirs");
    VerifyResponseCommandTest.Run r = VerifyResponseCommandTest.run(onChain(x, mine.address()));
    assertEquals(1, r.exit());
    assertEquals("APP_ID_MISMATCH", r.failure());
    assertEquals("compose hash (on chain)", r.failedCheck());
  }

  @Test
  void rejectsAComposeHashRemovedFromTheChain() throws Exception {
    AppPolicy app = app();
    SignedExchange x = exchange(app, "removed");
    assertEquals(0, VerifyResponseCommandTest.run(onChain(x, app.address())).exit());
    app.removeComposeHash(x.composeHash());
    VerifyResponseCommandTest.Run r = VerifyResponseCommandTest.run(onChain(x, app.address()));
    assertEquals(1, r.exit());
    assertEquals("COMPOSE_HASH_NOT_ALLOWED", r.failure());
    assertEquals("PASS", r.json().at("/checks/4/status").asText());
    app.setDisabled(true);
    assertEquals(
        "APP_NOT_ALLOWED", VerifyResponseCommandTest.run(onChain(x, app.address())).failure());
  }

  @Test
  void theOnChainGpuPolicyRequiresEvidenceWithRims() throws Exception {
    AppPolicy app = app();
    SignedExchange x = exchange(app, "gpu");
    List<String> noRims = onChain(x, app.address());
    int i = noRims.indexOf("--rims");
    noRims.subList(i, i + 4).clear();
    assertEquals("GPU_RIMS_NOT_CHECKED", VerifyResponseCommandTest.run(noRims).failure());
    app.setGpuRequirements(new GpuPolicy(2, "HOPPER", 0));
    VerifyResponseCommandTest.Run two = VerifyResponseCommandTest.run(onChain(x, app.address()));
    assertEquals("GPU_POLICY", two.failure());
    assertTrue(
        two.json()
            .get("error")
            .asText()
            .contains("1 GPU(s) attested, the policy requires at least 2"));
  }

  @Test
  void anOsImageWithoutItsGoldenMeasurementIsRefused() throws Exception {
    AppPolicy app = app();
    SignedExchange x = exchange(app, "os");
    registry.removeOsImageMeasurement(SignedExchange.OS_IMAGE, x.mrSystem());
    try {
      VerifyResponseCommandTest.Run r = VerifyResponseCommandTest.run(onChain(x, app.address()));
      assertEquals("OS_IMAGE_MEASUREMENT_MISMATCH", r.failure());
    } finally {
      registry.addOsImageMeasurement(SignedExchange.OS_IMAGE, x.mrSystem());
    }
  }

  /**
   * An unreachable chain is a failure naming it (fail closed), and mixing identities is a usage
   * error.
   */
  @Test
  void anUnreadableChainFailsClosed() throws Exception {
    AppPolicy app = app();
    SignedExchange x = exchange(app, "down");
    List<String> args = onChain(x, app.address());
    args.set(args.indexOf(anvil.rpcUrl()), "http://127.0.0.1:1");
    VerifyResponseCommandTest.Run r = VerifyResponseCommandTest.run(args);
    assertEquals(1, r.exit());
    assertEquals("POLICY_UNAVAILABLE", r.failure());
    assertEquals("TCB status", r.failedCheck());
    assertEquals(
        2,
        VerifyResponseCommandTest.run(
                onChain(x, app.address(), "--compose-hash", HEX.formatHex(x.composeHash())))
            .exit());
    assertEquals(
        2,
        VerifyResponseCommandTest.run(
                onChain(x, app.address(), "--mr-system", HEX.formatHex(x.mrSystem())))
            .exit());
  }
}
