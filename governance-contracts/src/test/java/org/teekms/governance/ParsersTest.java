package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.web3j.protocol.core.methods.response.Log;

/**
 * Offline parsers and codecs: driver versions, BootInfo (record and JSON), ABI results, revert
 * data.
 */
class ParsersTest {
  private static final String BOOT_JSON =
      "{\"appId\":\"0x"
          + "11".repeat(20)
          + "\",\"composeHash\":\"0x"
          + "22".repeat(32)
          + "\",\"instanceId\":\""
          + "33".repeat(20)
          + "\",\"deviceId\":\"0x"
          + "44".repeat(32)
          + "\",\"mrAggregated\":\"0x"
          + "55".repeat(32)
          + "\",\"osImageHash\":\"0x"
          + "66".repeat(32)
          + "\",\"tcbStatus\":\"UpToDate\",\"advisoryIds\":[\"INTEL-SA-00615\"],\"gpuCount\":1,\"gpuArch\":\"HOPPER\","
          + "\"gpuDriverVersion\":\"550.127.05\"}";

  @Test
  void driverVersions() {
    assertEquals(550_127_005L, DriverVersion.parse("550.127.05"));
    assertEquals(535_086_010L, DriverVersion.parse("535.86.10"));
    assertEquals(570_000_000L, DriverVersion.parse("570.0"));
    assertTrue(DriverVersion.parse("550.127.05") > DriverVersion.parse("550.90.07"));
    assertEquals("550.127.05", DriverVersion.format(550_127_005L));
    assertEquals("0", DriverVersion.format(0));
    assertEquals(
        "0x8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0",
        org.web3j.abi.EventEncoder.encode(
            org.teekms.governance.contracts.KmsRegistryContract.OWNERSHIPTRANSFERRED_EVENT));
    assertEquals(
        "0x38d16b8cac22d99fc7c124b9cd0de2d3fa1faef420bfe791d8c362d765e22700",
        org.web3j.abi.EventEncoder.encode(
            org.teekms.governance.contracts.AppPolicyContract.OWNERSHIPTRANSFERSTARTED_EVENT));
    assertEquals(
        "0x715018a6",
        org.teekms.governance.contracts.KmsRegistryContract.getABI_renounceOwnership());
    assertEquals(4_294_999_999L, DriverVersion.parse("4294.999.999"));
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(
      strings = {
        "",
        "550",
        "550.",
        ".1",
        "550.1000.1",
        "550.1.1000",
        "4295.0.0",
        "a.b.c",
        "550.1.1.1",
        "-1.0",
        "550,127"
      })
  void aMalformedDriverVersionIsRefused(String bad) {
    assertThrows(IllegalArgumentException.class, () -> DriverVersion.parse(bad), bad);
  }

  @Test
  void bootInfoChecksSizesAndComparesByValue() {
    BootInfo b = BootInfoJson.parse(BOOT_JSON);
    assertEquals(0x22, b.composeHash().get(0));
    assertEquals(b, BootInfoJson.parse(BOOT_JSON));
    assertEquals(b.hashCode(), BootInfoJson.parse(BOOT_JSON).hashCode());
    assertNotEquals(b, b.withComposeHash(Bytes.copyOf(new byte[32])));
    assertEquals("0x" + "11".repeat(20), b.appAddress());
    assertThrows(
        IllegalArgumentException.class, () -> b.withComposeHash(Bytes.copyOf(new byte[31])));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new BootInfo(
                AppId.of(new byte[19]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(new byte[20]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(new byte[32]),
                "UpToDate",
                List.of(),
                0,
                "",
                0));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new BootInfo(
                AppId.of(new byte[20]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(new byte[20]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(new byte[32]),
                "UpToDate",
                List.of(),
                -1,
                "",
                0));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new BootInfo(
                AppId.of(new byte[20]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(new byte[20]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(new byte[32]),
                Bytes.copyOf(new byte[32]),
                "UpToDate",
                List.of(),
                0,
                "",
                1L << 32));
    assertTrue(b.toString().contains("550.127.05"));
    assertThrows(
        IllegalArgumentException.class, () -> b.withMrSystem(Bytes.copyOf(new byte[31]), false));
    assertNotEquals(b, b.withMrSystem(Bytes.copyOf(new byte[32]), true));
    assertNotEquals(
        b.withMrSystem(Bytes.copyOf(new byte[32]), false),
        b.withMrSystem(Bytes.copyOf(filled(32, 1)), false));
  }

  static byte[] filled(int n, int v) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) v);
    return b;
  }

  @Test
  void bootInfoJsonCarriesTheMeasuredOsIdentity() throws Exception {
    BootInfo plain = BootInfoJson.parse(BOOT_JSON);
    assertArrayEquals(
        new byte[32], plain.mrSystem().toByteArray(), "omitted: zero, which no registry accepts");
    assertFalse(plain.osImageMeasured());
    String json =
        BOOT_JSON.replace(
            "}", ",\"mrSystem\":\"0x" + "77".repeat(32) + "\",\"osImageMeasured\":true}");
    BootInfo b = BootInfoJson.parse(json);
    assertArrayEquals(filled(32, 0x77), b.mrSystem().toByteArray());
    assertTrue(b.osImageMeasured());
    String again =
        new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(BootInfoJson.toMap(b));
    assertEquals(b, BootInfoJson.parse(again));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            BootInfoJson.parse(
                json.replace("\"osImageMeasured\":true", "\"osImageMeasured\":\"yes\"")));
    assertThrows(
        IllegalArgumentException.class,
        () -> BootInfoJson.parse(json.replace("77".repeat(32), "77".repeat(31))));
  }

  @Test
  void bootInfoJsonRoundTripsAndRejectsBadInput() throws Exception {
    BootInfo b = BootInfoJson.parse(BOOT_JSON);
    String again =
        new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(BootInfoJson.toMap(b));
    assertEquals(b, BootInfoJson.parse(again));
    assertThrows(
        IllegalArgumentException.class,
        () -> BootInfoJson.parse(BOOT_JSON.replace("}", ",\"x\":1}")),
        "unknown field");
    assertThrows(
        IllegalArgumentException.class,
        () -> BootInfoJson.parse(BOOT_JSON.replace("\"gpuCount\":1,", "")),
        "missing field");
    assertThrows(
        IllegalArgumentException.class,
        () ->
            BootInfoJson.parse(
                BOOT_JSON.replace("\"gpuCount\":1", "\"gpuCount\":1,\"gpuCount\":2")),
        "duplicate field");
    assertThrows(IllegalArgumentException.class, () -> BootInfoJson.parse("[]"));
    assertThrows(IllegalArgumentException.class, () -> BootInfoJson.parse("x".repeat(70_000)));
    for (int cut = 0; cut < BOOT_JSON.length(); cut += 7) {
      String truncated = BOOT_JSON.substring(0, cut);
      assertThrows(IllegalArgumentException.class, () -> BootInfoJson.parse(truncated), truncated);
    }
  }

  @Test
  void mutatedBootInfoJsonNeverThrowsAnythingElse() {
    Random random = new Random(6);
    int parsed = 0;
    for (int i = 0; i < 3000; i++) {
      char[] c = BOOT_JSON.toCharArray();
      for (int k = 0; k <= random.nextInt(3); k++)
        c[random.nextInt(c.length)] = (char) (32 + random.nextInt(95));
      try {
        BootInfoJson.parse(new String(c));
        parsed++;
      } catch (IllegalArgumentException expected) {
        // rejected with a reason
      }
    }
    assertTrue(parsed < 3000, "mutations must be noticed");
  }

  /** isAppAllowed's answer (bool, uint8, string) as the chain would return it. */
  private static String verdictAnswer(boolean allowed, int code, String reason) {
    return org.web3j.abi.FunctionEncoder.encodeConstructor(
        List.of(
            new org.web3j.abi.datatypes.Bool(allowed),
            new org.web3j.abi.datatypes.generated.Uint8(code),
            new org.web3j.abi.datatypes.Utf8String(reason)));
  }

  private static KmsRegistry answering(String hex) {
    return KmsRegistry.reading(
        ChainClient.connect("http://127.0.0.1:9", 1), "0x" + "11".repeat(20), (to, data) -> hex);
  }

  @Test
  void verdictDecodingRejectsMalformedAndUnknownAnswers() throws Exception {
    BootInfo boot = BootInfoJson.parse(BOOT_JSON);
    String good = "0x" + verdictAnswer(true, 0, "");
    assertEquals(
        new GovernanceContract.Verdict(true, ChainDenial.NONE, ""),
        answering(good).isAppAllowed(boot));
    assertEquals(
        new GovernanceContract.Verdict(
            false, ChainDenial.GPU_DRIVER_BELOW_MINIMUM, "GPU driver below minimum"),
        answering("0x" + verdictAnswer(false, 14, "GPU driver below minimum")).isAppAllowed(boot));
    // A code this build does not know (a newer contract), or one that contradicts "allowed", is a
    // malformed answer.
    for (String bad :
        List.of(
            verdictAnswer(false, ChainDenial.values().length, "new reason"),
            verdictAnswer(true, 9, ""),
            verdictAnswer(false, 0, "denied without a code"),
            "",
            "0x")) {
      GovernanceException e =
          assertThrows(
              GovernanceException.class,
              () ->
                  answering(bad.startsWith("0x") || bad.isEmpty() ? bad : "0x" + bad)
                      .isAppAllowed(boot),
              bad);
      assertEquals(GovernanceException.Kind.RPC, e.kind());
    }
    Random random = new Random(7);
    byte[] base = HexFormat.of().parseHex(good.substring(2));
    int decoded = 0;
    for (int i = 0; i < 2000; i++) {
      byte[] m = base.clone();
      int len = random.nextInt(3) == 0 ? random.nextInt(m.length) : m.length;
      m = java.util.Arrays.copyOf(m, len);
      if (len > 0) m[random.nextInt(len)] = (byte) random.nextInt(256);
      try {
        GovernanceContract.Verdict v =
            answering("0x" + HexFormat.of().formatHex(m)).isAppAllowed(boot);
        assertEquals(v.allowed(), v.denial() == ChainDenial.NONE);
        decoded++;
      } catch (GovernanceException expected) {
        assertEquals(
            GovernanceException.Kind.RPC, expected.kind(), "malformed: rejected as an RPC failure");
      }
    }
    assertTrue(decoded < 2000, "mutations must be noticed");
  }

  @Test
  void denialCodesMirrorTheContractEnum() throws Exception {
    // Denial in GovernanceTypes.sol, in order: the ordinal is the on-chain value.
    String sol =
        new String(
            java.nio.file.Files.readAllBytes(
                java.nio.file.Path.of("src/main/solidity/GovernanceTypes.sol")),
            java.nio.charset.StandardCharsets.UTF_8);
    String body = sol.substring(sol.indexOf("enum Denial {") + "enum Denial {".length());
    body = body.substring(0, body.indexOf('}')).replaceAll("//[^\n]*", "");
    List<String> solidity = java.util.Arrays.stream(body.split(",")).map(String::trim).toList();
    List<String> mirrored =
        java.util.Arrays.stream(ChainDenial.values())
            .map(
                d ->
                    java.util.Arrays.stream(d.name().toLowerCase(java.util.Locale.ROOT).split("_"))
                        .map(w -> Character.toUpperCase(w.charAt(0)) + w.substring(1))
                        .collect(java.util.stream.Collectors.joining()))
            .toList();
    assertEquals(solidity, mirrored);
    for (ChainDenial d : ChainDenial.values()) assertEquals(d, ChainDenial.ofCode(d.code()));
    assertThrows(IllegalArgumentException.class, () -> ChainDenial.ofCode(-1));
    assertThrows(
        IllegalArgumentException.class, () -> ChainDenial.ofCode(ChainDenial.values().length));
  }

  @Test
  void eventDecodingRejectsForeignAndMalformedLogs() {
    Log log = new Log();
    log.setTopics(List.of("0x" + "00".repeat(32)));
    log.setData("0x");
    assertFalse(KmsRegistry.EVENTS.knowsEvent(log));
    assertThrows(IllegalArgumentException.class, () -> KmsRegistry.EVENTS.decode(log));
    log.setTopics(List.of(KmsRegistry.EVENTS.eventTopic("OsImageAdded")));
    assertThrows(
        IllegalArgumentException.class,
        () -> KmsRegistry.EVENTS.decode(log),
        "indexed topics missing");
    log.setTopics(
        List.of(KmsRegistry.EVENTS.eventTopic("TcbPolicyChanged"), "0x" + "00".repeat(32)));
    log.setData("0x1234");
    assertThrows(IllegalArgumentException.class, () -> KmsRegistry.EVENTS.decode(log), "bad data");
  }

  @Test
  void revertReasons() {
    String reason =
        "0x08c379a0" + "0".repeat(62) + "20" + "0".repeat(63) + "3" + "616263" + "0".repeat(58);
    assertEquals("abc", RevertReason.decode(reason, "fallback"));
    assertEquals(
        "panic 0x11 (assertion, overflow or bad array index)",
        RevertReason.decode("0x4e487b71" + "0".repeat(62) + "11", "fallback"));
    assertEquals("fallback", RevertReason.decode(null, "fallback"));
    assertEquals("fallback", RevertReason.decode("0x08c379a0ff", "fallback"));
    assertEquals("fallback", RevertReason.decode("0xdeadbeef", "fallback"));
    assertEquals(
        "caller is not the owner",
        RevertReason.decode(null, "execution reverted: caller is not the owner"));
    assertEquals("execution reverted", RevertReason.decode(null, "execution reverted"));
  }

  /** The vectors in docs/governance.md. */
  @Test
  void documentedVectors() {
    byte[] compose =
        "{\"manifest_version\":2,\"name\":\"llm\",\"runner\":\"docker-compose\"}\n"
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(62, compose.length);
    assertEquals(
        "bc7c5a854658bf72206e45be2e23362bc74869ebf7eb756843eba49febe0e5f4",
        HexFormat.of().formatHex(ComposeHash.of(compose)));
    String data =
        org.teekms.governance.contracts.KmsRegistryContract.getABI_isAppAllowed(
            BootInfoJson.parse(BOOT_JSON).registryStruct());
    assertTrue(data.startsWith("0x588a1057"));
    assertEquals(708, (data.length() - 2) / 2);
    assertEquals(
        "0x9199e521dbd11e9135d4939197dd1b495d6ae15dbd5d1dfbd74b546c0a6aa1a4",
        org.web3j.crypto.Hash.sha3(data));
    assertEquals(
        "0xe6319206de0aff642b5ecbd50e90b7d3cd7607419783374837f462055610a637",
        org.web3j.abi.EventEncoder.encode(
            org.teekms.governance.contracts.KmsRegistryContract.OSIMAGEMEASUREMENTADDED_EVENT));
    assertEquals(
        "0xf264366e3f20d0ef7e17d873c061160f70bac66eae8f4210f7153ba4315539a5",
        org.web3j.abi.EventEncoder.encode(
            org.teekms.governance.contracts.AppPolicyContract.COMPOSEHASHADDED_EVENT));
    assertEquals(
        "0x01975d1a91283223f72ffed07c1fc2d818b0ec548b83d3d0b2343cc1676167b4",
        KmsRegistry.EVENTS.eventTopic("TcbPolicyChanged"));
    assertEquals(
        "0x8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0",
        org.web3j.abi.EventEncoder.encode(
            org.teekms.governance.contracts.KmsRegistryContract.OWNERSHIPTRANSFERRED_EVENT));
    assertEquals(
        "0x38d16b8cac22d99fc7c124b9cd0de2d3fa1faef420bfe791d8c362d765e22700",
        org.web3j.abi.EventEncoder.encode(
            org.teekms.governance.contracts.AppPolicyContract.OWNERSHIPTRANSFERSTARTED_EVENT));
    assertEquals(
        "0x715018a6",
        org.teekms.governance.contracts.KmsRegistryContract.getABI_renounceOwnership());
    assertEquals(4_294_999_999L, DriverVersion.parse("4294.999.999"));
  }

  @Test
  void policyDecisionNeverAllowsAFailure() {
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new PolicyDecision(
                true,
                ChainDenial.NONE,
                "",
                1,
                "0x",
                PolicyDecision.Failure.REORG,
                null,
                null,
                null));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new PolicyDecision(
                false,
                ChainDenial.APP_DISABLED,
                "no",
                1,
                "0x",
                null,
                new AppKeyVersions(1, 1, 0, 0),
                null,
                null));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new PolicyDecision(false, ChainDenial.NONE, "no code", 1, "0x", null, null, null, null),
        "a chain denial names its code");
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new PolicyDecision(true, ChainDenial.APP_DISABLED, "", 1, "0x", null, null, null, null),
        "an allow has no denial code");
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new PolicyDecision(
                false,
                ChainDenial.APP_DISABLED,
                "x",
                1,
                "0x",
                PolicyDecision.Failure.REORG,
                null,
                null,
                null),
        "a failed read has no code from the chain");
    assertThrows(IllegalArgumentException.class, () -> new AppKeyVersions(1, 2, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new AppKeyVersions(1, 0, 0, 0));
    AppKeyVersions v = new AppKeyVersions(5, 3, 0, 0);
    assertFalse(v.serves(2));
    assertTrue(v.serves(3));
    assertTrue(v.serves(5));
    assertFalse(v.serves(6));
    assertFalse(PolicyDecision.failed(PolicyDecision.Failure.RPC_UNAVAILABLE, "down").allowed());
  }
}
