package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.env.EnvBlob;
import org.teekms.agent.env.EnvFiles;
import org.teekms.agent.env.EnvJson;
import org.teekms.agent.env.EnvSettings;
import org.teekms.agent.env.EnvVar;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;

/**
 * The agent opens the encrypted environment at boot, after GetAppKeys: the real dstack SDK's blob
 * reaches the app through the 0600 files; a tampered or truncated blob, another app's key, a
 * retired version or a variable outside {@code allowed_envs} fails the boot with its reason, and
 * the value (a marker) appears in no error and no log line.
 */
class EnvSecretsBootTest {
  private static final String MARKER = "sk-MARKER-d41d8cd98f00b204";
  private static final String COMPOSE =
      "{\"manifest_version\":2,\"name\":\"env-app\",\"key_provider\":\"kms\","
          + "\"allowed_envs\":[\"UPSTREAM_TOKEN\",\"MODEL\"],\"public_sysinfo\":true}";
  private static TestKms kms;
  private final List<String> logLines = new CopyOnWriteArrayList<>();
  private final Handler capture =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          logLines.add(
              String.valueOf(r.getMessage())
                  + " "
                  + (r.getThrown() == null ? "" : r.getThrown().toString()));
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    kms = new TestKms("{\"name\":\"kms\"}");
    kms.allow(
        AgentFixture.APP,
        AppCompose.parse(COMPOSE.getBytes(StandardCharsets.UTF_8)).composeHash().toByteArray());
  }

  @AfterAll
  static void stop() throws Exception {
    kms.close();
  }

  @BeforeEach
  void captureLogs() {
    Logger.getLogger("").addHandler(capture);
    kms.policies.remove(Bytes.copyOf(AgentFixture.APP.toBytes()));
  }

  @AfterEach
  void release() {
    Logger.getLogger("").removeHandler(capture);
    kms.policies.remove(Bytes.copyOf(AgentFixture.APP.toBytes()));
  }

  private static byte[] envPublicKey(AppId app, int version) {
    try (DerivedKey k =
        kms.deriver.derive(
            KeyRequest.envEncryption(new org.teekms.keys.VersionRef(1, app, version)),
            new KeyVersionPolicy(Math.max(version, 1), 1, Set.of()))) {
      return k.publicKey();
    }
  }

  private static byte[] sdkEncrypt(byte[] publicKey, String envsJson) throws Exception {
    NodeRunner.Result r =
        NodeRunner.node(
            "env-compat.mjs",
            Map.of(),
            List.of("encrypt", HexFormat.of().formatHex(publicKey), envsJson));
    assertEquals(0, r.exit(), r.stderr());
    return HexFormat.of().parseHex(r.stdout().strip());
  }

  private RunningAgent boot(byte[] blob) throws Exception {
    Path file = dir.resolve(".encrypted-env");
    Files.write(file, blob);
    EnvSettings env =
        new EnvSettings(Optional.of(file), true, Optional.of(dir.resolve("env")), false);
    return AgentFixture.boot(
        kms,
        COMPOSE,
        AgentFixture.registering(kms),
        null,
        2,
        new AgentFixture.RecordingSleeper(),
        null,
        env);
  }

  private BootFailure bootFails(byte[] blob) {
    BootFailure f = assertThrows(BootFailure.class, () -> boot(blob).close());
    assertFalse(f.getMessage().contains(MARKER), f.getMessage());
    return f;
  }

  /**
   * Every captured log line (a failed boot's reason is checked where it is thrown, in {@link
   * #bootFails}).
   */
  private void assertNoValueLogged() {
    logLines.forEach(l -> assertFalse(l.contains(MARKER), l));
  }

  @Test
  void theSdksSecretReachesTheAppThroughRootOnlyFiles() throws Exception {
    byte[] blob =
        sdkEncrypt(
            envPublicKey(AgentFixture.APP, 1),
            "[{\"key\":\"UPSTREAM_TOKEN\",\"value\":\""
                + MARKER
                + " $x\"},{\"key\":\"MODEL\",\"value\":\"qwen\"}]");
    try (RunningAgent agent = boot(blob)) {
      assertEquals(1, agent.env().keyVersion());
      assertEquals(Optional.of(MARKER + " $x"), agent.env().value("UPSTREAM_TOKEN"));
      Path shell = dir.resolve("env").resolve(EnvFiles.SHELL_FILE);
      Path json = dir.resolve("env").resolve(EnvFiles.JSON_FILE);
      assertEquals("MODEL=qwen\nUPSTREAM_TOKEN=\"" + MARKER + " \\$x\"\n", Files.readString(shell));
      assertEquals(
          "{\"MODEL\":\"qwen\",\"UPSTREAM_TOKEN\":\"" + MARKER + " $x\"}", Files.readString(json));
      assertEquals(
          "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(shell)));
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(json)));
      assertEquals(
          "rwx------",
          PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("env"))));
      assertFalse(
          System.getenv().values().stream().anyMatch(v -> v.contains(MARKER)),
          "never the agent's env");
    }
    assertTrue(
        logLines.stream()
            .anyMatch(l -> l.contains("key version 1") && l.contains("UPSTREAM_TOKEN")),
        "the boot names the variables and the key version it used");
    assertNoValueLogged();
  }

  @Test
  void aTamperedBlobFailsTheBoot() throws Exception {
    byte[] blob =
        EnvBlob.encrypt(
            EnvJson.encode(List.of(new EnvVar("UPSTREAM_TOKEN", MARKER))),
            envPublicKey(AgentFixture.APP, 1),
            new SecureRandom());
    blob[50] ^= 0x10;
    assertEquals("ENV_DECRYPTION_FAILED", bootFails(blob).reason());
    assertFalse(
        Files.exists(dir.resolve("env").resolve(EnvFiles.SHELL_FILE)), "nothing handed to the app");
    assertNoValueLogged();
  }

  @Test
  void aTruncatedBlobFailsTheBootAsMalformed() throws Exception {
    byte[] blob =
        sdkEncrypt(
            envPublicKey(AgentFixture.APP, 1),
            "[{\"key\":\"MODEL\",\"value\":\"" + MARKER + "\"}]");
    assertEquals("ENV_BLOB_MALFORMED", bootFails(java.util.Arrays.copyOf(blob, 40)).reason());
    assertEquals(
        "ENV_DECRYPTION_FAILED",
        bootFails(java.util.Arrays.copyOf(blob, blob.length - 1)).reason());
  }

  @Test
  void anotherAppsKeyDoesNotOpen() throws Exception {
    byte[] blob =
        sdkEncrypt(
            envPublicKey(AppId.fromHex("99".repeat(20)), 1),
            "[{\"key\":\"MODEL\",\"value\":\"" + MARKER + "\"}]");
    BootFailure f = bootFails(blob);
    assertEquals("ENV_DECRYPTION_FAILED", f.reason());
    assertTrue(f.getMessage().contains("[1]"), f.getMessage());
  }

  @Test
  void aVariableOutsideAllowedEnvsIsRefusedByName() throws Exception {
    byte[] blob =
        sdkEncrypt(
            envPublicKey(AgentFixture.APP, 1),
            "[{\"key\":\"MODEL\",\"value\":\"qwen\"},"
                + "{\"key\":\"LD_PRELOAD\",\"value\":\""
                + MARKER
                + "\"}]");
    BootFailure f = bootFails(blob);
    assertEquals("ENV_NOT_ALLOWED", f.reason());
    assertTrue(f.getMessage().contains("LD_PRELOAD"), f.getMessage());
    assertNoValueLogged();
  }

  @Test
  void aBlobForAnOlderServedVersionOpensAndReportsItsVersionUntilThatVersionIsRetired()
      throws Exception {
    byte[] v1 =
        sdkEncrypt(
            envPublicKey(AgentFixture.APP, 1),
            "[{\"key\":\"MODEL\",\"value\":\"" + MARKER + "\"}]");
    byte[] v2 =
        sdkEncrypt(envPublicKey(AgentFixture.APP, 2), "[{\"key\":\"MODEL\",\"value\":\"v2\"}]");
    kms.policies.put(
        Bytes.copyOf(AgentFixture.APP.toBytes()), new KeyVersionPolicy(2, 1, Set.of()));
    try (RunningAgent agent = boot(v1)) {
      assertEquals(2, agent.keys().currentVersion());
      assertEquals(1, agent.env().keyVersion());
    }
    try (RunningAgent agent = boot(v2)) {
      assertEquals(2, agent.env().keyVersion());
      assertEquals(Optional.of("v2"), agent.env().value("MODEL"));
    }
    kms.policies.put(
        Bytes.copyOf(AgentFixture.APP.toBytes()), new KeyVersionPolicy(2, 2, Set.of()));
    assertEquals("ENV_DECRYPTION_FAILED", bootFails(v1).reason());
  }

  @Test
  void aMissingRequiredBlobFailsTheBoot() {
    EnvSettings env =
        new EnvSettings(Optional.of(dir.resolve("absent")), true, Optional.empty(), false);
    BootFailure f =
        assertThrows(
            BootFailure.class,
            () ->
                AgentFixture.boot(
                        kms,
                        COMPOSE,
                        AgentFixture.registering(kms),
                        null,
                        2,
                        new AgentFixture.RecordingSleeper(),
                        null,
                        env)
                    .close());
    assertEquals("ENV_UNAVAILABLE", f.reason());
  }

  @Test
  void withoutABlobTheAppGetsEmptyFiles() throws Exception {
    EnvSettings env =
        new EnvSettings(
            Optional.of(dir.resolve("absent")), false, Optional.of(dir.resolve("env")), false);
    try (RunningAgent agent =
        AgentFixture.boot(
            kms,
            COMPOSE,
            AgentFixture.registering(kms),
            null,
            2,
            new AgentFixture.RecordingSleeper(),
            null,
            env)) {
      assertEquals(0, agent.env().keyVersion());
      assertEquals("", Files.readString(dir.resolve("env").resolve(EnvFiles.SHELL_FILE)));
    }
  }
}
