package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.teekms.crypto.Bytes;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.keys.AppId;
import org.web3j.crypto.Credentials;
import org.web3j.protocol.core.methods.response.Log;
import org.web3j.utils.Numeric;

/**
 * One anvil per test class, a registry deployed once, and every test run inside an evm_snapshot
 * that is reverted afterwards, so tests are independent and fast.
 */
@Timeout(60)
abstract class AnvilTestBase {
  static AnvilNode anvil;
  static ChainClient chain;
  static Credentials operator; // registry owner
  static Credentials appOwner;
  static Credentials stranger; // funded, owns nothing
  static KmsRegistry registry; // bound to operator
  private String snapshot;

  @BeforeAll
  static void startChain() throws Exception {
    anvil = AnvilNode.start();
    chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    operator = anvil.fundedAccount();
    appOwner = anvil.fundedAccount();
    stranger = anvil.fundedAccount();
    registry = KmsRegistry.deploy(chain, operator, operator.getAddress()).registry();
  }

  @AfterAll
  static void stopChain() {
    if (chain != null) chain.close();
    if (anvil != null) anvil.close();
  }

  @BeforeEach
  void takeSnapshot() {
    snapshot = anvil.snapshot();
  }

  @AfterEach
  void revertSnapshot() {
    anvil.revert(snapshot);
  }

  // ---- helpers ----

  static byte[] b32(int seed) {
    byte[] b = new byte[32];
    for (int i = 0; i < 32; i++) b[i] = (byte) (seed * 31 + i + 1);
    return b;
  }

  static byte[] b20(int seed) {
    byte[] b = new byte[20];
    for (int i = 0; i < 20; i++) b[i] = (byte) (seed * 7 + i + 1);
    return b;
  }

  static byte[] sha256(byte[] data) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(data);
  }

  static String hex(byte[] b) {
    return Numeric.toHexString(b);
  }

  static KmsRegistry registryAs(Credentials who) {
    return KmsRegistry.at(chain, registry.address(), who);
  }

  /** Registers an app owned by appOwner and returns its policy bound to appOwner. */
  static AppPolicy newApp() throws GovernanceException {
    return AppPolicy.at(chain, registry.registerApp(appOwner.getAddress()).appId(), appOwner);
  }

  /** The hardware-measured OS identity (mrSystem) of the boots {@link #boot} makes. */
  static final byte[] MR_SYSTEM = b32(88);

  /**
   * A boot of {@code osImage} whose quote's mrSystem is {@link #MR_SYSTEM} (not proven by a
   * document).
   */
  static BootInfo boot(String appId, byte[] compose, byte[] device, byte[] osImage) {
    return BootInfo.withoutGpu(
            AppId.of(Numeric.hexStringToByteArray(appId)),
            Bytes.copyOf(compose),
            Bytes.copyOf(b20(9)),
            Bytes.copyOf(device),
            Bytes.copyOf(b32(77)),
            Bytes.copyOf(osImage),
            "UpToDate",
            List.of())
        .withMrSystem(Bytes.copyOf(MR_SYSTEM), false);
  }

  /** Allows an OS image and registers {@link #MR_SYSTEM} as its golden measurement. */
  static void allowOsImage(byte[] osImage) throws GovernanceException {
    registry.addOsImage(osImage);
    registry.addOsImageMeasurement(osImage, MR_SYSTEM);
  }

  /**
   * The contract emitted exactly one event in this transaction, with this name and these arguments
   * (a subset, compared as JSON).
   */
  static void assertSingleEvent(
      TxResult tx, GovernanceContract emitter, String name, Map<String, Object> expected) {
    ContractEvents events = emitter.eventTypes();
    List<Log> ours =
        tx.logs().stream().filter(l -> l.getAddress().equalsIgnoreCase(emitter.address())).toList();
    assertEquals(1, ours.size(), "events: " + ours.size());
    ContractEvents.DecodedEvent e = events.decode(ours.get(0));
    assertEquals(name, e.name());
    for (var entry : expected.entrySet()) {
      assertTrue(
          e.args().containsKey(entry.getKey()),
          "no argument " + entry.getKey() + " in " + e.args());
      assertEquals(
          normalize(entry.getValue()), normalize(e.args().get(entry.getKey())), entry.getKey());
    }
  }

  private static Object normalize(Object v) {
    if (v instanceof byte[] b) return HexFormat.of().formatHex(b);
    if (v instanceof String s && s.startsWith("0x")) return s.toLowerCase(java.util.Locale.ROOT);
    if (v instanceof Integer i) return java.math.BigInteger.valueOf(i);
    if (v instanceof Long l) return java.math.BigInteger.valueOf(l);
    if (v instanceof List<?> l) return l.stream().map(AnvilTestBase::normalize).toList();
    return v;
  }

  static String addr(Credentials c) {
    return c.getAddress().toLowerCase(java.util.Locale.ROOT);
  }

  interface ChainAction {
    void run() throws Exception;
  }

  /** The action reverts with exactly this reason (from the simulation before signing). */
  static void assertReverts(String reason, ChainAction action) {
    GovernanceException e = assertThrows(GovernanceException.class, action::run);
    assertEquals(GovernanceException.Kind.REVERTED, e.kind(), e.getMessage());
    assertEquals(reason, e.getMessage());
  }
}
