package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.boot.KmsAuthorizer;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.SecretBytes;
import org.teekms.keys.VersionRef;

/** Boot against an in-process KMS over mutual RA-TLS (simulated TDX on both sides). */
class AgentBootTest {
  static TestKms kms;

  @BeforeAll
  static void start() throws Exception {
    kms = new TestKms("{\"name\":\"kms\"}");
  }

  @AfterAll
  static void stop() throws Exception {
    kms.close();
  }

  @Test
  void bootMeasuresIdentityFetchesKeysAndKeepsThemConsistentWithTheKms() throws Exception {
    try (RunningAgent agent = AgentFixture.boot(kms)) {
      // the KMS admitted us with the identity we measured
      RaTlsIdentity seen = kms.admitted.get(kms.admitted.size() - 1);
      assertEquals(AgentFixture.APP.toHex(), seen.appId().hex());
      assertEquals(AgentFixture.INSTANCE.toHex(), seen.instanceId().hex());
      assertEquals(
          HexFormat.of()
              .formatHex(
                  AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
                      .composeHash()
                      .toByteArray()),
          seen.composeHash().hex());
      assertEquals(HexFormat.of().formatHex(AgentFixture.OS_IMAGE), seen.osImageHash().get().hex());
      assertEquals("{\"name\":\"kms\",\"id\":\"\"}", seen.keyProvider().get());
      // and we know whom we talked to
      assertEquals(kms.identity.mrAggregated(), agent.kmsIdentity().get().mrAggregated());
      // keys: what the KMS derives for this app/instance
      KeyVersionPolicy policy = KeyVersionPolicy.initial();
      try (DerivedKey disk =
              kms.deriver.derive(
                  KeyRequest.disk(
                      new VersionRef(1, AgentFixture.APP, 1), AgentFixture.INSTANCE, ""),
                  policy);
          SecretBytes pass = agent.keys().diskPassphrase();
          DerivedKey signing = agent.keys().responseSigningKey()) {
        assertArrayEquals(
            HexFormat.of()
                .formatHex(disk.privateKeyBytes(InsecureSecretAccess.get()))
                .getBytes(StandardCharsets.US_ASCII),
            pass.toByteArray(InsecureSecretAccess.get()));
        var kmsSide =
            new org.teekms.keys.AppKeyDeriver(
                    kms.deriver.appRootSecret(new VersionRef(1, AgentFixture.APP, 1), policy))
                .signingKey(
                    KeyAlgorithm.SECP256K1, org.teekms.agent.keys.AgentKeys.RESPONSE_SIGNING_PATH);
        assertEquals(kmsSide.ethereumAddress(), signing.ethereumAddress());
      }
      assertEquals(kms.rootAddress(), agent.keys().kmsRootAddress());
      // RTMR3: identity events, then system-ready after the keys arrived
      List<String> names = agent.eventLog().entries().stream().map(EventLogEntry::name).toList();
      assertEquals(
          List.of(
              "system-preparing",
              "app-id",
              "compose-hash",
              "instance-id",
              "boot-mr-done",
              "os-image-hash",
              "key-provider",
              "system-ready"),
          names);
      assertFalse(
          agent.keys().toString().matches(".*[0-9a-f]{64}.*"), "no key material in toString");
    }
  }

  @Test
  void denialFailsTheBootAtOnceWithTheKmsReason() throws Exception {
    String other = AgentFixture.COMPOSE.replace("demo-llm", "tampered");
    kms.allow(
        AgentFixture.APP,
        AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
            .composeHash()
            .toByteArray());
    int before = kms.getAppKeysCalls.get();
    var sleeper = new AgentFixture.RecordingSleeper();
    BootFailure f =
        assertThrows(
            BootFailure.class,
            () -> AgentFixture.boot(kms, other, AgentFixture.registering(kms), 5, sleeper, null));
    assertEquals("COMPOSE_HASH_NOT_ALLOWED", f.reason());
    assertTrue(
        f.getMessage().contains("not allowed for app " + AgentFixture.APP.toHex()), f.getMessage());
    assertEquals(1, kms.getAppKeysCalls.get() - before, "a denial is not retried");
    assertTrue(sleeper.slept.isEmpty());
  }

  private static RunningAgent launchedWith(byte[] mrConfigId) throws BootFailure {
    kms.allow(
        AgentFixture.APP,
        AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
            .composeHash()
            .toByteArray());
    return AgentFixture.boot(
        kms,
        AgentFixture.COMPOSE,
        AgentFixture.registering(kms),
        null,
        2,
        new AgentFixture.RecordingSleeper(),
        null,
        org.teekms.agent.env.EnvSettings.NONE,
        mrConfigId);
  }

  @Test
  void aCvmLaunchedForAnotherComposeFailsItsBootWithMrConfigIdMismatchBeforeAskingForKeys()
      throws Exception {
    byte[] otherCompose =
        AppCompose.parse(
                AgentFixture.COMPOSE
                    .replace("demo-llm", "what-the-host-launched")
                    .getBytes(StandardCharsets.UTF_8))
            .composeHash()
            .toByteArray();
    int before = kms.getAppKeysCalls.get();
    BootFailure f =
        assertThrows(
            BootFailure.class,
            () -> launchedWith(org.teekms.attest.eventlog.MrConfigId.v1(otherCompose)));
    assertEquals("MR_CONFIG_ID_MISMATCH", f.reason());
    assertTrue(
        f.getMessage().contains("does not bind the measured compose hash")
            && f.getMessage().contains(HexFormat.of().formatHex(otherCompose)),
        f.getMessage());
    // dstack's other versions are refused too (a binding the agent cannot check is none).
    byte[] v2 = new byte[48];
    v2[0] = 0x02;
    v2[1] = 0x55;
    BootFailure version = assertThrows(BootFailure.class, () -> launchedWith(v2));
    assertEquals("MR_CONFIG_ID_MISMATCH", version.reason());
    assertTrue(version.getMessage().contains("version 2"), version.getMessage());
    assertEquals(before, kms.getAppKeysCalls.get(), "no key was asked for");
  }

  @Test
  void aCvmLaunchedForItsOwnComposeOrWithoutMrConfigIdBoots() throws Exception {
    byte[] own =
        AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
            .composeHash()
            .toByteArray();
    try (RunningAgent agent = launchedWith(org.teekms.attest.eventlog.MrConfigId.v1(own))) {
      assertTrue(agent.kmsIdentity().isPresent());
    }
    try (RunningAgent agent = launchedWith(new byte[48])) {
      assertTrue(agent.kmsIdentity().isPresent());
    }
  }

  @Test
  void transientErrorsAreRetriedWithBackoff() throws Exception {
    kms.allow(
        AgentFixture.APP,
        AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
            .composeHash()
            .toByteArray());
    kms.failNextWithUnavailable.set(2);
    int before = kms.getAppKeysCalls.get();
    var sleeper = new AgentFixture.RecordingSleeper();
    try (RunningAgent agent =
        AgentFixture.boot(
            kms, AgentFixture.COMPOSE, AgentFixture.registering(kms), 5, sleeper, null)) {
      assertEquals(3, kms.getAppKeysCalls.get() - before);
      assertEquals(1, agent.keys().currentVersion());
    }
    kms.failNextWithUnavailable.set(10);
    BootFailure f =
        assertThrows(
            BootFailure.class,
            () ->
                AgentFixture.boot(
                    kms,
                    AgentFixture.COMPOSE,
                    AgentFixture.registering(kms),
                    3,
                    new AgentFixture.RecordingSleeper(),
                    null));
    assertEquals("RETRIES_EXHAUSTED", f.reason());
    assertTrue(f.getMessage().contains("CHAIN_UNAVAILABLE"), f.getMessage());
    kms.failNextWithUnavailable.set(0);
  }

  @Test
  void anUnregisteredKmsIsRefusedWhenNothingIsPinned() {
    kms.allow(
        AgentFixture.APP,
        AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
            .composeHash()
            .toByteArray());
    int before = kms.getAppKeysCalls.get();
    BootFailure f =
        assertThrows(
            BootFailure.class,
            () ->
                AgentFixture.boot(
                    kms,
                    AgentFixture.COMPOSE,
                    KmsAuthorizer.KmsRegistry.NONE,
                    2,
                    new AgentFixture.RecordingSleeper(),
                    null));
    assertEquals("RETRIES_EXHAUSTED", f.reason());
    assertEquals(0, kms.getAppKeysCalls.get() - before, "the KMS never got our request");
  }

  @Test
  void aPinnedKeyProviderMustHaveSignedTheKeys() throws Exception {
    String pinned =
        AgentFixture.COMPOSE.replace(
            "\"key_provider\":\"kms\"",
            "\"key_provider\":\"kms\",\"key_provider_id\":\""
                + HexFormat.of().formatHex(kms.rootAddress().toBytes())
                + "\"");
    kms.allow(
        AgentFixture.APP,
        AppCompose.parse(pinned.getBytes(StandardCharsets.UTF_8)).composeHash().toByteArray());
    try (RunningAgent agent =
        AgentFixture.boot(
            kms,
            pinned,
            KmsAuthorizer.KmsRegistry.NONE,
            2,
            new AgentFixture.RecordingSleeper(),
            null)) {
      assertEquals(kms.rootAddress(), agent.keys().kmsRootAddress());
      RaTlsIdentity seen = kms.admitted.get(kms.admitted.size() - 1);
      assertTrue(
          seen.keyProvider().get().contains(HexFormat.of().formatHex(kms.rootAddress().toBytes())));
    }
    String wrong =
        AgentFixture.COMPOSE.replace(
            "\"key_provider\":\"kms\"",
            "\"key_provider\":\"kms\",\"key_provider_id\":\"" + "ab".repeat(20) + "\"");
    kms.allow(
        AgentFixture.APP,
        AppCompose.parse(wrong.getBytes(StandardCharsets.UTF_8)).composeHash().toByteArray());
    BootFailure f =
        assertThrows(
            BootFailure.class,
            () ->
                AgentFixture.boot(
                    kms,
                    wrong,
                    KmsAuthorizer.KmsRegistry.NONE,
                    2,
                    new AgentFixture.RecordingSleeper(),
                    null));
    assertEquals("KMS_RESPONSE_REJECTED", f.reason());
    assertTrue(f.getMessage().contains("not certified by the pinned KMS root"), f.getMessage());
  }
}
