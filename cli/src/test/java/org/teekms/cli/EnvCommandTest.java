package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.agent.boot.PublishedKmsIdentity;
import org.teekms.agent.env.EnvBlob;
import org.teekms.agent.env.EnvJson;
import org.teekms.agent.env.EnvVar;
import org.teekms.crypto.Bytes;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.RootAnchor;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.AppRootSecret;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.DstackEnvKeySignature;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.keys.RootKeyring;
import org.teekms.proto.AppEnvEncryptPubKey;
import picocli.CommandLine;

/**
 * {@code teekms env}: what {@link EnvPubkeyCheck} accepts and the reason for each refusal, built
 * from a real KMS derivation (the AppEnv answer a KMS makes); {@code env encrypt --pubkey} output
 * opens with the private key; bad .env files are one-line failures without values.
 */
class EnvCommandTest {
  private static final AppId APP = AppId.fromHex("3c".repeat(20));
  private static final Instant NOW = Instant.ofEpochSecond(1_800_000_000L);
  private static final String MARKER = "VALUE-MARKER-91b2";

  @TempDir Path dir;

  /**
   * The answer an honest KMS gives for (APP, version 2, generation 1), signed at {@code signedAt}.
   */
  private static AppEnvEncryptPubKey answer(KmsKeyDeriver d, long signedAt) {
    KeyVersionPolicy policy = new KeyVersionPolicy(2, 1, Set.of());
    AppRootCertificate rc = d.certifyAppRoot(new org.teekms.keys.VersionRef(1, APP, 2), policy);
    try (DerivedKey env =
            d.derive(KeyRequest.envEncryption(new org.teekms.keys.VersionRef(1, APP, 2)), policy);
        AppRootSecret root = d.appRootSecret(new org.teekms.keys.VersionRef(1, APP, 2), policy);
        DerivedKey kmsRoot = d.kmsRootKey(1)) {
      PurposeKeyCertificate ec = new AppKeyDeriver(root).certify(env);
      byte[] pub = env.publicKey();
      return AppEnvEncryptPubKey.newBuilder()
          .setPublicKey(ByteString.copyFrom(pub))
          .setTimestamp(signedAt)
          .setSignatureV1(
              ByteString.copyFrom(
                  DstackEnvKeySignature.sign(
                      kmsRoot, DstackEnvKeySignature.message(APP, signedAt, pub))))
          .setSignature(
              ByteString.copyFrom(
                  DstackEnvKeySignature.sign(
                      kmsRoot, DstackEnvKeySignature.legacyMessage(APP, pub))))
          .setKeyVersion(2)
          .setRootGeneration(1)
          .setAppRootCertificate(
              org.teekms.proto.AppRootCertificate.newBuilder()
                  .setRootGeneration(1)
                  .setAppId(ByteString.copyFrom(APP.toBytes()))
                  .setKeyVersion(2)
                  .setAppRootPublicKey(ByteString.copyFrom(rc.appRootPublicKey().toByteArray()))
                  .setKmsSignature(ByteString.copyFrom(rc.kmsSignature().toBytes())))
          .setEnvEncryptionCertificate(
              org.teekms.proto.PurposeKeyCertificate.newBuilder()
                  .setPurpose("env-encryption")
                  .setAlgorithm("x25519")
                  .setPath(ec.key().path())
                  .setPublicKey(ByteString.copyFrom(pub))
                  .setAppRootSignature(ByteString.copyFrom(ec.appRootSignature().toBytes())))
          .build();
    }
  }

  private static EnvPubkeyCheck.Result check(
      AppEnvEncryptPubKey a,
      Optional<org.teekms.keys.EthereumAddress> root,
      Optional<PublishedKmsIdentity.Registry> registry) {
    return EnvPubkeyCheck.verify(a, APP, NOW, Duration.ofSeconds(300), root, registry);
  }

  @Test
  void anHonestAnswerVerifiesUpToTheChainPublishedRoot() {
    try (RootKeyring ring = new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom()));
        RootKeyring other =
            new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom()))) {
      KmsKeyDeriver d = new KmsKeyDeriver(ring);
      byte[] rootPub;
      org.teekms.keys.EthereumAddress rootAddr;
      try (DerivedKey k = d.kmsRootKey(1)) {
        rootPub = k.publicKey();
        rootAddr = k.ethereumAddress();
      }
      byte[] foreignPub;
      try (DerivedKey k = new KmsKeyDeriver(other).kmsRootKey(1)) {
        foreignPub = k.publicKey();
      }
      AppEnvEncryptPubKey a = answer(d, NOW.getEpochSecond() - 10);
      PublishedKmsIdentity.Registry published =
          g ->
              new PublishedKmsIdentity.Entry(
                  g,
                  identity(rootPub, new byte[32]),
                  RootAnchor.State.CURRENT,
                  9,
                  "0x" + "11".repeat(32));
      EnvPubkeyCheck.Result ok = check(a, Optional.of(rootAddr), Optional.of(published));
      assertNull(ok.failure(), ok.error());
      assertEquals(rootAddr, ok.kmsRoot());
      assertEquals(5, ok.checked().size(), ok.checked().toString());

      assertEquals(
          "KMS_IDENTITY_MISMATCH",
          check(
                  a,
                  Optional.empty(),
                  Optional.of(
                      g ->
                          new PublishedKmsIdentity.Entry(
                              g,
                              identity(foreignPub, new byte[32]),
                              RootAnchor.State.CURRENT,
                              9,
                              "0x")))
              .failure());
      assertEquals(
          "KMS_IDENTITY_MISMATCH",
          check(
                  a,
                  Optional.empty(),
                  Optional.of(
                      g ->
                          new PublishedKmsIdentity.Entry(
                              g,
                              identity(rootPub, new byte[32]),
                              RootAnchor.State.DESTROYED,
                              9,
                              "0x")))
              .failure());
      assertEquals(
          "KMS_IDENTITY_UNAVAILABLE",
          check(
                  a,
                  Optional.empty(),
                  Optional.of(
                      g -> {
                        throw new org.teekms.governance.GovernanceException(
                            org.teekms.governance.GovernanceException.Kind.RPC, "down");
                      }))
              .failure());
      try (DerivedKey k = new KmsKeyDeriver(other).kmsRootKey(1)) {
        assertEquals(
            "KMS_ROOT_MISMATCH",
            check(a, Optional.of(k.ethereumAddress()), Optional.empty()).failure());
      }
      EnvPubkeyCheck.Result unpinned = check(a, Optional.empty(), Optional.empty());
      assertNull(unpinned.failure());
    }
  }

  @Test
  void alteredOrStaleAnswersAreRefusedWithTheirReason() {
    try (RootKeyring ring =
        new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom()))) {
      KmsKeyDeriver d = new KmsKeyDeriver(ring);
      AppEnvEncryptPubKey a = answer(d, NOW.getEpochSecond());
      assertEquals(
          "ANSWER_STALE",
          check(answer(d, NOW.getEpochSecond() - 301), Optional.empty(), Optional.empty())
              .failure());
      assertEquals(
          "ANSWER_STALE",
          check(answer(d, NOW.getEpochSecond() + 61), Optional.empty(), Optional.empty())
              .failure());
      byte[] swapped = EnvBlob.publicKey(new byte[32]);
      AppEnvEncryptPubKey attacker =
          a.toBuilder().setPublicKey(ByteString.copyFrom(swapped)).build();
      EnvPubkeyCheck.Result r = check(attacker, Optional.empty(), Optional.empty());
      assertTrue(Set.of("SIGNATURE_INVALID", "CHAIN_INVALID").contains(r.failure()), r.toString());
      assertEquals(
          "CHAIN_INVALID",
          check(a.toBuilder().setKeyVersion(1).build(), Optional.empty(), Optional.empty())
              .failure(),
          "a version the chain does not certify");
      assertEquals(
          "ANSWER_MALFORMED",
          check(
                  a.toBuilder().setSignatureV1(ByteString.EMPTY).build(),
                  Optional.empty(),
                  Optional.empty())
              .failure());
      assertEquals(
          "SIGNATURE_INVALID",
          EnvPubkeyCheck.verify(
                  a,
                  AppId.fromHex("3d".repeat(20)),
                  NOW,
                  Duration.ofSeconds(300),
                  Optional.empty(),
                  Optional.empty())
              .failure(),
          "an answer for another app");
    }
  }

  private static String[] run(StringWriter out, String... args) {
    CommandLine cli = TeeKmsCli.newCommandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(new StringWriter()));
    return new String[] {Integer.toString(cli.execute(args))};
  }

  @Test
  void encryptWithAGivenKeyOpensWithItsPrivateKey() throws Exception {
    byte[] priv = new byte[32];
    new SecureRandom().nextBytes(priv);
    Path env = dir.resolve(".env");
    Files.writeString(env, "# owner's secrets\nHF_TOKEN=\"" + MARKER + "\"\nexport MODEL=qwen\n");
    StringWriter out = new StringWriter();
    String exit =
        run(
            out,
            "env",
            "encrypt",
            "--app",
            APP.toString(),
            "--pubkey",
            HexFormat.of().formatHex(EnvBlob.publicKey(priv)),
            "--env-file",
            env.toString(),
            "--out",
            dir.resolve("blob").toString())[0];
    assertEquals("0", exit, out.toString());
    assertFalse(out.toString().contains(MARKER), "no value printed");
    JsonNode json = VerifyQuoteCommand.JSON.readTree(out.toString());
    assertEquals("HF_TOKEN", json.path("variables").get(0).asText());
    List<EnvVar> vars =
        EnvJson.decode(EnvBlob.open(Files.readAllBytes(dir.resolve("blob")), priv).orElseThrow());
    assertEquals(List.of(new EnvVar("HF_TOKEN", MARKER), new EnvVar("MODEL", "qwen")), vars);
  }

  @Test
  void aBadEnvFileIsOneLineWithoutItsValue() throws Exception {
    Path env = dir.resolve(".env");
    Files.writeString(env, "A=1\nB=\"" + MARKER + "\n");
    StringWriter out = new StringWriter();
    String exit =
        run(
            out,
            "env",
            "encrypt",
            "--app",
            APP.toString(),
            "--pubkey",
            "00".repeat(32),
            "--env-file",
            env.toString())[0];
    assertEquals("1", exit);
    JsonNode json = VerifyQuoteCommand.JSON.readTree(out.toString());
    assertEquals("ENV_FILE_INVALID", json.path("failure").asText());
    assertTrue(json.path("error").asText().contains("line 2"), json.toString());
    assertFalse(out.toString().contains(MARKER));
    assertEquals(
        "2",
        run(
            new StringWriter(),
            "env",
            "encrypt",
            "--app",
            APP.toString(),
            "--env-file",
            env.toString())[0],
        "neither --kms nor --pubkey is a usage error");
  }

  /** What the registry stores for a generation: its root public keys and CA certificate hash. */
  private static KmsRegistry.KmsIdentity identity(byte[] rootPublicKeys, byte[] caSha256) {
    return new KmsRegistry.KmsIdentity(
        Bytes.copyOf(rootPublicKeys), Bytes.copyOf(caSha256), Bytes.copyOf(new byte[32]), 1);
  }
}
