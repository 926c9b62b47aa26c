package org.teekms.governance.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.governance.testing.AnvilNode;
import org.web3j.crypto.Credentials;
import picocli.CommandLine;

/**
 * {@code teekms gov …} end to end against anvil: every command, and the error paths operators meet.
 */
@Timeout(120)
class GovCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static AnvilNode anvil;
  private static Credentials operator;
  private static Credentials appOwner;
  @TempDir static Path dir;
  private static Path operatorKey;
  private static Path appOwnerKey;

  @BeforeAll
  static void start() throws Exception {
    anvil = AnvilNode.start();
    operator = anvil.fundedAccount();
    appOwner = anvil.fundedAccount();
    operatorKey = keyFile("operator", operator);
    appOwnerKey = keyFile("app-owner", appOwner);
  }

  @AfterAll
  static void stop() {
    if (anvil != null) anvil.close();
  }

  private static Path keyFile(String name, Credentials c) throws Exception {
    Path p = dir.resolve(name + ".key");
    Files.writeString(p, String.format("0x%064x%n", c.getEcKeyPair().getPrivateKey()));
    return p;
  }

  /** Result of one command run in-process. */
  record Run(int exit, JsonNode json, String out, String err) {}

  private static Run gov(String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new GovCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    JsonNode json = out.toString().isBlank() ? null : JSON.readTree(out.toString());
    return new Run(exit, json, out.toString(), err.toString());
  }

  private static String[] chainArgs(String... more) {
    List<String> a = new ArrayList<>(List.of(more));
    a.addAll(List.of("--rpc-url", anvil.rpcUrl(), "--chain-id", "31337"));
    return a.toArray(String[]::new);
  }

  private static Run ok(String... args) throws Exception {
    Run r = gov(chainArgs(args));
    assertEquals(0, r.exit(), String.join(" ", args) + " -> " + r.out() + r.err());
    assertTrue(r.json().get("ok").asBoolean());
    return r;
  }

  private static void assertTx(Run r) {
    assertTrue(r.json().get("txHash").asText().matches("0x[0-9a-f]{64}"), r.out());
    assertTrue(r.json().get("blockNumber").asLong() > 0, r.out());
    assertTrue(r.json().get("blockHash").asText().matches("0x[0-9a-f]{64}"), r.out());
  }

  private static String h32(int seed) {
    return "0x" + String.format("%02x", seed).repeat(32);
  }

  @Test
  void fullOperatorWorkflow() throws Exception {
    String op = operatorKey.toString();
    String own = appOwnerKey.toString();

    Run deploy = ok("deploy-registry", "--key-file", op);
    assertTx(deploy);
    String registry = deploy.json().get("registry").asText();
    assertEquals(operator.getAddress(), deploy.json().get("owner").asText());

    Run reg =
        ok(
            "register-app",
            "--registry",
            registry,
            "--owner",
            appOwner.getAddress(),
            "--key-file",
            op);
    assertTx(reg);
    String app = reg.json().get("appId").asText();

    assertTx(ok("add-os-image", "--registry", registry, "--hash", h32(3), "--key-file", op));
    Run golden =
        ok(
            "add-os-image-measurement",
            "--registry",
            registry,
            "--image",
            h32(3),
            "--mr-system",
            h32(11),
            "--key-file",
            op);
    assertTx(golden);
    assertEquals(h32(11), golden.json().get("mrSystem").asText());
    assertTx(
        ok(
            "add-os-image-measurement",
            "--registry",
            registry,
            "--image",
            h32(3),
            "--mr-system",
            h32(12),
            "--key-file",
            op));
    assertTx(
        ok(
            "remove-os-image-measurement",
            "--registry",
            registry,
            "--image",
            h32(3),
            "--mr-system",
            h32(12),
            "--key-file",
            op));
    assertEquals(
        2,
        gov(chainArgs(
                "add-os-image-measurement",
                "--registry",
                registry,
                "--image",
                h32(3),
                "--mr-system",
                "0x1234",
                "--key-file",
                op))
            .exit(),
        "not 32 bytes: usage error");
    assertTx(
        ok(
            "add-kms-measurement",
            "--registry",
            registry,
            "--measurement",
            h32(4),
            "--key-file",
            op));
    assertTx(ok("add-kms-device", "--registry", registry, "--device", h32(5), "--key-file", op));
    assertTx(ok("remove-kms-device", "--registry", registry, "--device", h32(5), "--key-file", op));
    assertTx(
        ok(
            "remove-kms-measurement",
            "--registry",
            registry,
            "--measurement",
            h32(4),
            "--key-file",
            op));
    assertTx(
        ok(
            "set-tcb-policy",
            "--registry",
            registry,
            "--status",
            "UpToDate",
            "--status",
            "OutOfDate",
            "--advisory",
            "INTEL-SA-00615",
            "--key-file",
            op));
    assertTx(
        ok(
            "set-gpu-policy",
            "--registry",
            registry,
            "--count",
            "1",
            "--arch",
            "HOPPER",
            "--min-driver",
            "550.127.05",
            "--key-file",
            op));
    assertTx(
        ok("set-open-registration", "--registry", registry, "--value", "true", "--key-file", op));
    Path keys = Files.write(dir.resolve("root.keys"), new byte[] {2, 1, 2, 3});
    Path cert = Files.write(dir.resolve("ca.der"), new byte[] {0x30, 3, 1, 1, 0});
    Path quote = Files.write(dir.resolve("quote.bin"), new byte[] {4, 0, 2, 0});
    assertTx(
        ok(
            "set-kms-identity",
            "--registry",
            registry,
            "--generation",
            "1",
            "--root-keys",
            keys.toString(),
            "--ca-cert",
            cert.toString(),
            "--quote",
            quote.toString(),
            "--key-file",
            op));
    Run current =
        gov(
            chainArgs(
                "destroy-root-generation",
                "--registry",
                registry,
                "--generation",
                "1",
                "--key-file",
                op));
    assertEquals(
        1,
        current.exit(),
        "the current generation cannot be destroyed: " + current.out() + current.err());
    assertTrue(
        current.json().get("error").asText().contains("generation is not retired"), current.out());
    assertTx(
        ok(
            "set-kms-identity",
            "--registry",
            registry,
            "--generation",
            "2",
            "--root-keys",
            keys.toString(),
            "--ca-cert",
            cert.toString(),
            "--quote",
            quote.toString(),
            "--key-file",
            op));
    assertTx(
        ok(
            "destroy-root-generation",
            "--registry",
            registry,
            "--generation",
            "1",
            "--key-file",
            op));
    Run zero =
        gov(
            chainArgs(
                "destroy-root-generation",
                "--registry",
                registry,
                "--generation",
                "0",
                "--key-file",
                op));
    assertEquals(1, zero.exit());
    assertEquals(
        "--generation must be 1..4294967295",
        zero.json().get("error").asText(),
        "refused before sending");

    // The app owner's side.
    Path compose = dir.resolve("app-compose.json");
    Files.writeString(
        compose, "{\"manifest_version\":2,\"name\":\"llm\",\"runner\":\"docker-compose\"}\n");
    String composeHash =
        "0x"
            + HexFormat.of()
                .formatHex(
                    MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(compose)));
    Run added =
        ok("add-compose-hash", "--app", app, "--compose", compose.toString(), "--key-file", own);
    assertTx(added);
    assertEquals(composeHash, added.json().get("composeHash").asText());
    assertTx(ok("add-compose-hash", "--app", app, "--hash", h32(6), "--key-file", own));
    assertTx(ok("remove-compose-hash", "--app", app, "--hash", h32(6), "--key-file", own));
    assertTx(ok("add-device", "--app", app, "--device", h32(7), "--key-file", own));
    assertTx(ok("add-device", "--app", app, "--device", h32(8), "--key-file", own));
    assertTx(ok("remove-device", "--app", app, "--device", h32(8), "--key-file", own));
    assertTx(ok("set-allow-any-device", "--app", app, "--value", "true", "--key-file", own));
    assertTrue(ok("show-app", "--app", app).json().get("allowAnyDevice").asBoolean());
    assertTx(ok("set-allow-any-device", "--app", app, "--value", "false", "--key-file", own));
    assertTx(ok("set-require-tcb-up-to-date", "--app", app, "--value", "true", "--key-file", own));
    assertTx(ok("set-gpu-policy", "--app", app, "--count", "2", "--key-file", own));
    assertTx(ok("clear-gpu-policy", "--app", app, "--key-file", own));
    assertTx(ok("rotate-keys", "--app", app, "--key-file", own));
    assertTx(ok("set-min-key-version", "--app", app, "--version", "2", "--key-file", own));
    assertTx(ok("set-rotation-period", "--app", app, "--seconds", "86400", "--key-file", own));
    assertTx(ok("set-app-disabled", "--app", app, "--value", "true", "--key-file", own));
    assertTx(ok("set-app-disabled", "--app", app, "--value", "false", "--key-file", own));

    JsonNode show = ok("show-app", "--app", app).json();
    assertEquals("REGISTERED", show.get("status").asText());
    assertEquals(appOwner.getAddress(), show.get("owner").asText());
    assertEquals(registry, show.get("registry").asText());
    assertEquals(List.of(composeHash), texts(show.get("composeHashes")));
    assertEquals(List.of(h32(7)), texts(show.get("devices")));
    assertTrue(show.get("requireTcbUpToDate").asBoolean());
    assertEquals("registry default", show.get("gpuRequirements").asText());
    assertEquals("HOPPER", show.get("effectiveGpuPolicy").get("arch").asText());
    assertEquals("550.127.05", show.get("effectiveGpuPolicy").get("minDriverVersion").asText());
    assertEquals(2, show.get("keys").get("currentKeyVersion").asInt());
    assertEquals(2, show.get("keys").get("minKeyVersion").asInt());
    assertEquals(86400, show.get("keys").get("rotationPeriodSeconds").asInt());

    JsonNode shownRegistry = ok("show-registry", "--registry", registry).json();
    assertEquals(operator.getAddress(), shownRegistry.get("owner").asText());
    assertEquals(List.of(h32(3)), texts(shownRegistry.get("osImages")));
    assertEquals(List.of(h32(11)), texts(shownRegistry.get("osImageMeasurements").get(h32(3))));
    assertEquals(List.of("UpToDate", "OutOfDate"), texts(shownRegistry.get("tcbStatuses")));
    assertEquals(List.of("INTEL-SA-00615"), texts(shownRegistry.get("advisoryIds")));
    assertEquals(
        "0x02010203", shownRegistry.get("kmsIdentities").get(0).get("rootPublicKeys").asText());
    assertEquals("DESTROYED", shownRegistry.get("kmsIdentities").get(0).get("state").asText());
    assertEquals("CURRENT", shownRegistry.get("kmsIdentities").get(1).get("state").asText());
    assertEquals(2, shownRegistry.get("currentRootGeneration").asInt());
    assertEquals("REGISTERED", shownRegistry.get("apps").get(app).asText());
    assertTrue(shownRegistry.get("openRegistration").asBoolean());

    // check-app: the KMS's decision for a boot, as JSON.
    Path boot = dir.resolve("boot.json");
    Files.writeString(boot, bootJson(app, composeHash, h32(7), h32(3), 1, "HOPPER", "550.127.05"));
    Run allowed = ok("check-app", "--registry", registry, "--boot", boot.toString());
    assertTrue(allowed.json().get("allowed").asBoolean(), allowed.out());
    Files.writeString(boot, bootJson(app, h32(9), h32(7), h32(3), 1, "HOPPER", "550.127.05"));
    Run denied = gov(chainArgs("check-app", "--registry", registry, "--boot", boot.toString()));
    assertEquals(1, denied.exit());
    assertEquals("compose hash not allowed", denied.json().get("reason").asText());
    assertEquals("COMPOSE_HASH_NOT_ALLOWED", denied.json().get("denial").asText());
    assertEquals("NONE", allowed.json().get("denial").asText());
    Files.writeString(
        boot,
        bootJson(app, composeHash, h32(7), h32(3), 1, "HOPPER", "550.127.05")
            .replace(h32(11), h32(12)));
    assertEquals(
        "OS image measurement mismatch",
        gov(chainArgs("check-app", "--registry", registry, "--boot", boot.toString()))
            .json()
            .get("reason")
            .asText(),
        "a boot whose hardware-measured OS has no golden value");
    Files.writeString(boot, bootJson(app, composeHash, h32(7), h32(3), 0, "", "0"));
    assertEquals(
        "GPU count below required",
        gov(chainArgs("check-app", "--registry", registry, "--boot", boot.toString()))
            .json()
            .get("reason")
            .asText());
    Files.writeString(boot, "{\"appId\":\"" + app + "\"}");
    Run badBoot = gov(chainArgs("check-app", "--registry", registry, "--boot", boot.toString()));
    assertEquals(1, badBoot.exit());
    assertEquals("INVALID_INPUT", badBoot.json().get("kind").asText());

    // Ownership of the app moves in two steps.
    assertTx(
        ok(
            "transfer-ownership",
            "--contract",
            app,
            "--new-owner",
            operator.getAddress(),
            "--key-file",
            own));
    assertTx(ok("accept-ownership", "--contract", app, "--key-file", op));
    assertEquals(operator.getAddress(), ok("show-app", "--app", app).json().get("owner").asText());

    // History, rebuilt from events: who did what, with old and new values.
    JsonNode events = ok("history", "--app", app).json().get("events");
    List<String> names = new ArrayList<>();
    events.forEach(e -> names.add(e.get("event").asText()));
    assertEquals(
        List.of(
            "OwnershipTransferred",
            "AppRegistered",
            "ComposeHashAdded",
            "ComposeHashAdded",
            "ComposeHashRemoved",
            "DeviceAdded",
            "DeviceAdded",
            "DeviceRemoved",
            "AllowAnyDeviceChanged",
            "AllowAnyDeviceChanged",
            "RequireTcbUpToDateChanged",
            "GpuRequirementsChanged",
            "GpuRequirementsChanged",
            "KeysRotated",
            "MinKeyVersionChanged",
            "RotationPeriodChanged",
            "DisabledChanged",
            "DisabledChanged",
            "OwnershipTransferStarted",
            "OwnershipTransferred"),
        names);
    JsonNode first = events.get(2);
    assertEquals("AppPolicy", first.get("contract").asText());
    assertEquals(appOwner.getAddress(), first.get("args").get("by").asText());
    assertEquals(composeHash, first.get("args").get("composeHash").asText());
    JsonNode rotated = events.get(13).get("args");
    assertEquals(1, rotated.get("oldVersion").asInt());
    assertEquals(2, rotated.get("newVersion").asInt());
    assertEquals("KmsRegistry", events.get(1).get("contract").asText());

    // Deregistration, by the (new) app owner.
    assertTx(ok("deregister-app", "--app", app, "--key-file", op));
    assertEquals("DEREGISTERED", ok("show-app", "--app", app).json().get("status").asText());
    assertTx(ok("remove-os-image", "--registry", registry, "--hash", h32(3), "--key-file", op));
    Run reg2 = ok("register-app", "--registry", registry, "--key-file", own);
    assertTx(
        ok(
            "deregister-app",
            "--app",
            reg2.json().get("appId").asText(),
            "--as-registry-owner",
            "--key-file",
            op));
  }

  @Test
  void revertReasonIsReported() throws Exception {
    String registry =
        ok("deploy-registry", "--key-file", operatorKey.toString()).json().get("registry").asText();
    Run r =
        gov(
            chainArgs(
                "add-os-image",
                "--registry",
                registry,
                "--hash",
                h32(1),
                "--key-file",
                appOwnerKey.toString()));
    assertEquals(1, r.exit());
    assertFalse(r.json().get("ok").asBoolean());
    assertEquals("REVERTED", r.json().get("kind").asText());
    assertEquals("caller is not the owner", r.json().get("error").asText());
    assertTrue(r.err().contains("caller is not the owner"));
  }

  @Test
  void wrongChainIsRefusedBeforeSigning() throws Exception {
    Run r =
        gov(
            "deploy-registry",
            "--key-file",
            operatorKey.toString(),
            "--rpc-url",
            anvil.rpcUrl(),
            "--chain-id",
            "1");
    assertEquals(1, r.exit());
    assertEquals("WRONG_CHAIN", r.json().get("kind").asText());
    assertEquals(
        "wrong chain: " + anvil.rpcUrl() + " serves chain id 31337, expected 1",
        r.json().get("error").asText());
  }

  @Test
  void insufficientFundsIsExplained() throws Exception {
    Path poor = keyFile("poor", AnvilNode.unfundedAccount());
    Run r = gov(chainArgs("deploy-registry", "--key-file", poor.toString()));
    assertEquals(1, r.exit());
    assertEquals("INSUFFICIENT_FUNDS", r.json().get("kind").asText());
    assertTrue(r.json().get("error").asText().startsWith("insufficient funds: 0x"), r.out());
  }

  @Test
  void unreachableRpcIsReported() throws Exception {
    String dead;
    try (AnvilNode other = AnvilNode.start()) {
      dead = other.rpcUrl();
    }
    Run r =
        gov("show-app", "--app", operator.getAddress(), "--rpc-url", dead, "--chain-id", "31337");
    assertEquals(1, r.exit());
    assertEquals("RPC", r.json().get("kind").asText());
    assertTrue(
        r.json().get("error").asText().startsWith("chain RPC unreachable at " + dead), r.out());
  }

  @Test
  void keysNeverComeFromTheCommandLine() throws Exception {
    Run noKey = gov(chainArgs("deploy-registry", "--key-env", "TEEKMS_TEST_UNSET_KEY_VARIABLE"));
    assertEquals(1, noKey.exit());
    assertEquals(
        "no signing key: set TEEKMS_TEST_UNSET_KEY_VARIABLE or pass --key-file FILE",
        noKey.json().get("error").asText());
    assertEquals(2, gov(chainArgs("deploy-registry", "--key", "0x" + "11".repeat(32))).exit());
    Path garbage = Files.writeString(dir.resolve("garbage.key"), "not-a-key-secret-words");
    Run bad = gov(chainArgs("deploy-registry", "--key-file", garbage.toString()));
    assertEquals(1, bad.exit());
    assertFalse(
        bad.out().contains("secret-words") || bad.err().contains("secret-words"),
        "key content echoed");
    assertEquals("INVALID_INPUT", bad.json().get("kind").asText());
  }

  @Test
  void usageErrors() throws Exception {
    assertEquals(2, gov().exit());
    assertEquals(
        2,
        gov(chainArgs(
                "add-os-image",
                "--registry",
                operator.getAddress(),
                "--hash",
                "0x1234",
                "--key-file",
                operatorKey.toString()))
            .exit());
    assertEquals(2, gov(chainArgs("register-app", "--registry", "0xnot-an-address")).exit());
    assertEquals(
        2,
        gov("show-app", "--app", operator.getAddress(), "--rpc-url", anvil.rpcUrl()).exit(),
        "no chain id");
    assertEquals(
        2,
        gov(chainArgs(
                "add-compose-hash",
                "--app",
                operator.getAddress(),
                "--hash",
                h32(1),
                "--compose",
                "x.json",
                "--key-file",
                operatorKey.toString()))
            .exit(),
        "--hash and --compose exclusive");
  }

  private static String bootJson(
      String app,
      String compose,
      String device,
      String osImage,
      int gpus,
      String arch,
      String driver) {
    return "{\"appId\":\""
        + app
        + "\",\"composeHash\":\""
        + compose
        + "\",\"instanceId\":\"0x"
        + "ab".repeat(20)
        + "\",\"deviceId\":\""
        + device
        + "\",\"mrAggregated\":\""
        + h32(10)
        + "\",\"osImageHash\":\""
        + osImage
        + "\",\"tcbStatus\":\"UpToDate\",\"advisoryIds\":[],\"gpuCount\":"
        + gpus
        + ",\"gpuArch\":\""
        + arch
        + "\",\"gpuDriverVersion\":\""
        + driver
        + "\",\"mrSystem\":\""
        + h32(11)
        + "\"}";
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Root custody with a multisig registry owner: {@code --calldata-only} prints the call, nothing
   * is sent, and the wallet's signers execute exactly that call.
   */
  @Test
  void custodyCallsForAMultisigOwnerArePrintedNotSent() throws Exception {
    String op = operatorKey.toString();
    String registry = ok("deploy-registry", "--key-file", op).json().get("registry").asText();
    String custody =
        ok("deploy-custody", "--registry", registry, "--key-file", op)
            .json()
            .get("custody")
            .asText();
    byte[] key =
        org.teekms.custody.RecipientKeyPair.generate(new java.security.SecureRandom())
            .publicKey()
            .encode();
    String keyHex = org.web3j.utils.Numeric.toHexString(key);

    Run printed =
        ok(
            "register-custodian",
            "--custody",
            custody,
            "--public-key",
            keyHex,
            "--kind",
            "hsm",
            "--name",
            "hsm-1",
            "--calldata-only");
    assertEquals(custody, printed.json().get("to").asText());
    org.teekms.governance.ChainClient chain =
        org.teekms.governance.ChainClient.connect(anvil.rpcUrl(), 31337);
    org.teekms.governance.RootCustody c =
        org.teekms.governance.RootCustody.at(chain, custody, null);
    assertEquals(0, c.custodianIds().size(), "--calldata-only sends nothing");

    // the printed data, sent by the owner (as a wallet would), registers exactly that custodian
    chain.send(operator, custody, printed.json().get("data").asText());
    assertEquals(
        org.teekms.governance.RootCustody.Kind.HSM,
        c.custodian(java.security.MessageDigest.getInstance("SHA-256").digest(key)).kind());
    Run shown = ok("show-custody", "--custody", custody);
    assertEquals("hsm-1", shown.json().at("/custodians/0/name").asText());
    assertEquals(registry, shown.json().get("registry").asText());

    Run badKind =
        gov(
            chainArgs(
                "register-custodian",
                "--custody",
                custody,
                "--public-key",
                keyHex,
                "--kind",
                "hsn",
                "--name",
                "x",
                "--key-file",
                op));
    assertEquals(1, badKind.exit());
    assertEquals(
        "--kind must be kms-cluster, hsm or operator, got 'hsn'",
        badKind.json().get("error").asText());
    chain.close();
  }

  /**
   * {@code --print-calldata} on any governance transaction (registry, app, ownership, deployment):
   * needs no key, sends nothing, prints target, value and the ABI-encoded data; that data, sent by
   * the owner as a multisig would, has exactly the command's effect.
   */
  @Test
  void everyGovernanceTransactionCanBePrintedForAMultisig() throws Exception {
    String op = operatorKey.toString();
    String registry = ok("deploy-registry", "--key-file", op).json().get("registry").asText();
    String app =
        ok(
                "register-app",
                "--registry",
                registry,
                "--owner",
                operator.getAddress(),
                "--key-file",
                op)
            .json()
            .get("appId")
            .asText();
    org.teekms.governance.ChainClient chain =
        org.teekms.governance.ChainClient.connect(anvil.rpcUrl(), 31337);
    org.teekms.governance.AppPolicy policy = org.teekms.governance.AppPolicy.at(chain, app, null);
    String hash = "0x" + "ab".repeat(32);

    // No key anywhere (no --key-file, and the default environment variable is not consulted).
    Run printed = ok("add-compose-hash", "--app", app, "--hash", hash, "--print-calldata");
    JsonNode j = printed.json();
    assertFalse(j.get("sent").asBoolean());
    assertEquals(app, j.get("to").asText());
    assertEquals("0", j.get("value").asText());
    assertEquals(31337, j.get("chainId").asLong());
    assertTrue(
        j.get("data").asText().startsWith("0x") && j.get("data").asText().endsWith("ab".repeat(32)),
        j.toString());
    assertFalse(
        policy.isComposeHashAllowed(HexFormat.of().parseHex("ab".repeat(32))), "nothing was sent");
    chain.send(operator, j.get("to").asText(), j.get("data").asText());
    assertTrue(
        policy.isComposeHashAllowed(HexFormat.of().parseHex("ab".repeat(32))),
        "the printed call does what the command does");

    // A registry-owner call and an ownership call print their targets too.
    Run os =
        ok(
            "add-os-image",
            "--registry",
            registry,
            "--hash",
            "0x" + "cd".repeat(32),
            "--print-calldata");
    assertEquals(registry, os.json().get("to").asText());
    Run transfer =
        ok(
            "transfer-ownership",
            "--contract",
            app,
            "--new-owner",
            appOwner.getAddress(),
            "--print-calldata");
    assertEquals(app, transfer.json().get("to").asText());
    assertEquals(
        operator.getAddress().toLowerCase(java.util.Locale.ROOT),
        policy.owner().toLowerCase(java.util.Locale.ROOT));

    // A deployment is a contract creation (no target); a default that needs the key's address asks
    // for it instead.
    Run deploy = ok("deploy-registry", "--owner", appOwner.getAddress(), "--print-calldata");
    assertTrue(deploy.json().get("to").isNull(), deploy.out());
    assertTrue(
        deploy.json().get("data").asText().length() > 1000,
        "creation bytecode and constructor arguments");
    Run noOwner = gov(chainArgs("deploy-registry", "--print-calldata"));
    assertEquals(1, noOwner.exit());
    assertEquals(
        "--print-calldata loads no key: give --owner explicitly",
        noOwner.json().get("error").asText());
    chain.close();
  }

  /**
   * {@code set-audit-anchorer}: the owner names the KMS's anchoring account, which may then anchor
   * the audit head; no one else may name it; the call can be printed for a multisig owner and does
   * exactly that when sent.
   */
  @Test
  void auditAnchorerIsNamedByTheOwnerAndThenMayAnchor() throws Exception {
    String op = operatorKey.toString();
    String registry = ok("deploy-registry", "--key-file", op).json().get("registry").asText();
    org.teekms.governance.ChainClient chain =
        org.teekms.governance.ChainClient.connect(anvil.rpcUrl(), 31337);
    org.teekms.governance.KmsRegistry reader =
        org.teekms.governance.KmsRegistry.at(chain, registry, null);
    String anchorer = appOwner.getAddress().toLowerCase(java.util.Locale.ROOT);

    Run set =
        ok(
            "set-audit-anchorer",
            "--registry",
            registry,
            "--anchorer",
            appOwner.getAddress(),
            "--key-file",
            op);
    assertTx(set);
    assertEquals(anchorer, set.json().get("auditAnchorer").asText());
    assertEquals(anchorer, reader.auditAnchorer().toLowerCase(java.util.Locale.ROOT));
    // The named account may now anchor a head (before, only the owner could).
    byte[] head = new byte[32];
    java.util.Arrays.fill(head, (byte) 0x11);
    org.teekms.governance.KmsRegistry.at(chain, registry, appOwner).anchorAuditHead(head, 1);

    Run notOwner =
        gov(
            chainArgs(
                "set-audit-anchorer",
                "--registry",
                registry,
                "--anchorer",
                operator.getAddress(),
                "--key-file",
                appOwnerKey.toString()));
    assertEquals(1, notOwner.exit());
    assertEquals("REVERTED", notOwner.json().get("kind").asText());
    assertEquals("caller is not the owner", notOwner.json().get("error").asText());
    Run unchanged =
        gov(
            chainArgs(
                "set-audit-anchorer",
                "--registry",
                registry,
                "--anchorer",
                appOwner.getAddress(),
                "--key-file",
                op));
    assertEquals(1, unchanged.exit());
    assertEquals("value unchanged", unchanged.json().get("error").asText());
    assertEquals(
        2,
        gov(chainArgs(
                "set-audit-anchorer",
                "--registry",
                registry,
                "--anchorer",
                "0x1234",
                "--key-file",
                op))
            .exit(),
        "not an address");

    // Printed for a multisig: no key, nothing sent; sent by the owner it clears the anchorer.
    String zero = "0x" + "00".repeat(20);
    Run printed =
        ok("set-audit-anchorer", "--registry", registry, "--anchorer", zero, "--print-calldata");
    assertFalse(printed.json().get("sent").asBoolean());
    assertEquals(registry, printed.json().get("to").asText());
    assertTrue(printed.json().get("data").asText().startsWith("0x8c46030f"), printed.out());
    assertEquals(
        anchorer, reader.auditAnchorer().toLowerCase(java.util.Locale.ROOT), "nothing was sent");
    chain.send(operator, printed.json().get("to").asText(), printed.json().get("data").asText());
    assertEquals(zero, reader.auditAnchorer().toLowerCase(java.util.Locale.ROOT));
    chain.close();
  }
}
