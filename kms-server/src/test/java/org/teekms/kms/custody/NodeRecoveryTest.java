package org.teekms.kms.custody;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.custody.CustodianShare;
import org.teekms.custody.EnvelopeContext;
import org.teekms.custody.RecipientKeyPair;
import org.teekms.custody.RootBackup;
import org.teekms.custody.RootRecovery;
import org.teekms.custody.Share;
import org.teekms.custody.ShareEnvelope;
import org.teekms.custody.ShareSubmission;
import org.teekms.governance.PublishedRootKeys;
import org.teekms.keys.AppId;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;
import org.teekms.kms.MutableClock;
import org.teekms.kms.TestPostgres;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.seal.SealingKey;

/**
 * A fresh KMS node recovering a root generation from its custodians (docs/root-custody.md §6.4), on
 * a real PostgreSQL with the simulated chain: the custodians of a 2-of-3 backup of the
 * key-derivation vectors' generation-2 root release their shares to the node's key exactly as
 * {@code teekms custody release} does (re-seal to the node for the on-chain request, sign the
 * submission). Each attack is a test.
 */
class NodeRecoveryTest {

  private static final int GENERATION = 2;
  private static final int THRESHOLD = 2;
  private static final HexFormat HEX = HexFormat.of();
  private static TestPostgres postgres;

  @BeforeAll
  static void start() {
    postgres = new TestPostgres();
  }

  @AfterAll
  static void stop() {
    postgres.close();
  }

  private static <T> T await(Uni<T> u) {
    return u.await().atMost(TestPostgres.WAIT);
  }

  private static JsonNode vectors() throws Exception {
    return new ObjectMapper()
        .readTree(
            Path.of(System.getProperty("teekms.docs", "../docs"), "key-derivation-vectors.json")
                .toFile());
  }

  private static byte[] vectorRoot() throws Exception {
    for (JsonNode r : vectors().get("roots")) {
      if (r.get("generation").asInt() == GENERATION) return HEX.parseHex(r.get("secret").asText());
    }
    throw new AssertionError("no root of generation " + GENERATION + " in the vectors");
  }

  /**
   * The lost deployment's backup on the simulated chain, and a fresh node (empty database)
   * recovering it.
   */
  private static final class Scenario implements AutoCloseable {
    final InMemoryCustodyChain chain = new InMemoryCustodyChain(3, new SecureRandom());
    final RootBackup backup;
    final Pool pool = postgres.pool(postgres.freshDatabase(), 4);
    final MutableClock clock = new MutableClock(1_767_225_600_000L);
    final AuditLog audit = new AuditLog(pool, postgres.sessions(pool), clock);
    final RootGenerationStore roots =
        new RootGenerationStore(
            postgres.sessions(pool), new SealingKey(new byte[32]), "kms-recovery-test");
    final RecipientKeyPair nodeKey = RecipientKeyPair.generate(new SecureRandom());
    byte[] publishedRootKey;
    final NodeRecovery node;

    Scenario() throws Exception {
      byte[] root = vectorRoot();
      try (SecretBytes secret = SecretBytes.copyOf(root, InsecureSecretAccess.get())) {
        backup = RootBackup.create(GENERATION, secret, THRESHOLD, chain.keys(), new SecureRandom());
        publishedRootKey = RootRecovery.rootPublicKey(GENERATION, secret);
      }
      chain.publish(backup);
      node =
          new NodeRecovery(
              GENERATION,
              nodeKey,
              null,
              chain,
              g ->
                  g == GENERATION
                      ? PublishedRootKeys.published(
                          g, org.teekms.crypto.Bytes.copyOf(publishedRootKey), 40, "0xblock")
                      : PublishedRootKeys.notPublished(g, 40, "0xblock", "no identity"),
              new RecoveredRootStore(
                  postgres.sessions(pool),
                  roots,
                  audit,
                  clock,
                  Duration.ofSeconds(30),
                  new SecureRandom()),
              clock,
              NodeRecovery.DEFAULT_CHAIN_FACTS_TTL);
    }

    /**
     * Custodian {@code index} re-seals its share to {@code recipient} for {@code requestId} (what
     * release does).
     */
    byte[] release(int index, byte[] requestId, RecipientKeyPair recipient) throws Exception {
      RootBackup.SealedShare sealed = backup.shares().get(index - 1);
      try (Share share =
          CustodianShare.open(
              chain.custodians.get(index - 1),
              GENERATION,
              index,
              backup.commitments(),
              sealed.envelope().toByteArray(),
              sealed.digest())) {
        return ShareEnvelope.seal(
            recipient.publicKey(),
            EnvelopeContext.recovery(GENERATION, index, backup.commitments().digest(), requestId),
            share,
            new SecureRandom());
      }
    }

    NodeRecovery.Progress submit(int index, byte[] requestId, byte[] envelope) throws Exception {
      return submit(index, requestId, envelope, chain.custodians.get(index - 1));
    }

    NodeRecovery.Progress submit(
        int index, byte[] requestId, byte[] envelope, RecipientKeyPair signer) throws Exception {
      byte[] signature =
          ShareSubmission.sign(
              signer,
              ShareSubmission.message(GENERATION, index, requestId, node.nodeKeyId(), envelope));
      return node.submit(requestId, index, envelope, signature);
    }

    int generationsStored() {
      return await(roots.list()).size();
    }

    @Override
    public void close() {
      pool.closeAndAwait();
    }
  }

  @Test
  void thresholdSharesRecoverTheRootSealedHereAndItDerivesTheSameAppKeys() throws Exception {
    try (Scenario s = new Scenario()) {
      byte[] request = s.chain.authorize(GENERATION, s.node.nodeKeyId());
      NodeRecovery.Progress first = s.submit(3, request, s.release(3, request, s.nodeKey));
      assertEquals(NodeRecovery.State.RECOVERING, first.state());
      NodeRecovery.Progress done = s.submit(1, request, s.release(1, request, s.nodeKey));

      assertEquals(NodeRecovery.State.RECOVERED, done.state(), done.detail());
      assertTrue(s.node.done().isDone() && !s.node.done().isCompletedExceptionally());
      assertTrue(
          s.nodeKey.isDestroyed(), "the node's recovery key is destroyed once the root is stored");
      var stored = await(s.roots.list());
      assertEquals(1, stored.size());
      assertEquals(GENERATION, stored.get(0).generation());
      assertEquals(RootState.CURRENT, stored.get(0).state());
      byte[] unsealed = await(s.roots.unseal(GENERATION));
      try {
        assertKeysMatchTheVectors(unsealed);
      } finally {
        java.util.Arrays.fill(unsealed, (byte) 0);
      }
      // The automatic backup finds the published backup it came from: it never splits the
      // generation again.
      RootBackups backups =
          new RootBackups(
              s.chain,
              new RootBackups.Settings(THRESHOLD, Path.of("unused"), true),
              s.roots,
              new SecureRandom());
      assertEquals(
          Optional.of("PUBLISHED"), await(backups.state(postgres.sessions(s.pool), GENERATION)));
      List<AuditEntry> audit = await(s.audit.list(null, 0, Long.MAX_VALUE, 0, 100));
      assertTrue(
          audit.stream()
              .anyMatch(
                  e ->
                      e.kind().equals("ROOT_CUSTODY")
                          && e.detailJson().contains("recovered")
                          && e.detailJson().contains(HEX.formatHex(request))),
          "the recovery is audited with its request");
    }
  }

  @Test
  void fewerThanThresholdSharesLeaveTheNodeNotReadyWithAPreciseStatus() throws Exception {
    try (Scenario s = new Scenario()) {
      byte[] request = s.chain.authorize(GENERATION, s.node.nodeKeyId());
      NodeRecovery.Progress p = s.submit(2, request, s.release(2, request, s.nodeKey));

      assertEquals(NodeRecovery.State.RECOVERING, p.state());
      assertEquals(List.of(2), p.validIndices());
      assertEquals(THRESHOLD, p.threshold());
      assertTrue(p.detail().contains("1 of 2 valid shares"), p.detail());
      assertFalse(s.node.done().isDone());
      assertEquals(0, s.generationsStored(), "nothing is stored before t valid shares");
      // The same share again does not count twice.
      assertEquals(
          List.of(2), s.submit(2, request, s.release(2, request, s.nodeKey)).validIndices());
      assertEquals(0, s.generationsStored());
    }
  }

  @Test
  void aCorruptedShareIsIdentifiedByIndexAndDoesNotStopTheRecovery() throws Exception {
    try (Scenario s = new Scenario()) {
      byte[] request = s.chain.authorize(GENERATION, s.node.nodeKeyId());
      byte[] corrupted = s.release(2, request, s.nodeKey);
      corrupted[corrupted.length - 20] ^= 1;
      NodeRecovery.Refused r =
          assertThrows(NodeRecovery.Refused.class, () -> s.submit(2, request, corrupted));
      assertEquals(NodeRecovery.Refusal.SHARE_INVALID, r.code());
      assertEquals(
          List.of(2),
          s.node.progress().badShares().stream().map(NodeRecovery.BadShare::index).toList());

      // A custodian that seals a share of another index under its own index is caught by the
      // commitments.
      byte[] swapped = s.release(3, request, s.nodeKey);
      NodeRecovery.Refused wrongIndex =
          assertThrows(NodeRecovery.Refused.class, () -> s.submit(1, request, swapped));
      assertEquals(NodeRecovery.Refusal.SHARE_INVALID, wrongIndex.code());

      s.submit(3, request, s.release(3, request, s.nodeKey));
      NodeRecovery.Progress done = s.submit(1, request, s.release(1, request, s.nodeKey));
      assertEquals(NodeRecovery.State.RECOVERED, done.state(), done.detail());
      assertTrue(done.detail().contains("bad shares reported: [2]"), done.detail());
    }
  }

  @Test
  void sharesAreRefusedWithoutTheOwnersAuthorizationForThisNodeKey() throws Exception {
    try (Scenario s = new Scenario()) {
      byte[] unknown = new byte[32];
      NodeRecovery.Refused r =
          assertThrows(
              NodeRecovery.Refused.class,
              () -> s.submit(1, unknown, s.release(1, unknown, s.nodeKey)));
      assertEquals(NodeRecovery.Refusal.RECOVERY_NOT_AUTHORIZED, r.code());
      assertTrue(r.getMessage().contains("unknown recovery request"), r.getMessage());

      // Authorized for another node key (the node the owner meant): this node may not use it.
      byte[] other =
          s.chain.authorize(
              GENERATION, RecipientKeyPair.generate(new SecureRandom()).publicKey().id());
      NodeRecovery.Refused r2 =
          assertThrows(
              NodeRecovery.Refused.class, () -> s.submit(1, other, s.release(1, other, s.nodeKey)));
      assertEquals(NodeRecovery.Refusal.RECOVERY_NOT_AUTHORIZED, r2.code());

      // Revoked between the first share and the t-th: nothing is reconstructed.
      byte[] request = s.chain.authorize(GENERATION, s.node.nodeKeyId());
      s.submit(1, request, s.release(1, request, s.nodeKey));
      s.chain.authorized.remove(HEX.formatHex(request));
      NodeRecovery.Refused late =
          assertThrows(
              NodeRecovery.Refused.class,
              () -> s.submit(2, request, s.release(2, request, s.nodeKey)));
      assertEquals(NodeRecovery.Refusal.RECOVERY_NOT_AUTHORIZED, late.code());
      assertEquals(0, s.generationsStored());
      assertEquals(NodeRecovery.State.RECOVERING, s.node.progress().state());
    }
  }

  @Test
  void aShareFromAnUnregisteredSenderIsRefusedBeforeItIsOpened() throws Exception {
    try (Scenario s = new Scenario()) {
      byte[] request = s.chain.authorize(GENERATION, s.node.nodeKeyId());
      RecipientKeyPair stranger = RecipientKeyPair.generate(new SecureRandom());
      byte[] envelope = s.release(1, request, s.nodeKey);
      NodeRecovery.Refused r =
          assertThrows(NodeRecovery.Refused.class, () -> s.submit(1, request, envelope, stranger));
      assertEquals(NodeRecovery.Refusal.SENDER_NOT_CUSTODIAN, r.code());
      // Custodian 2 may not speak for index 1 either.
      NodeRecovery.Refused r2 =
          assertThrows(
              NodeRecovery.Refused.class,
              () -> s.submit(1, request, envelope, s.chain.custodians.get(1)));
      assertEquals(NodeRecovery.Refusal.SENDER_NOT_CUSTODIAN, r2.code());
      assertTrue(
          s.node.progress().badShares().isEmpty(),
          "an unauthenticated sender cannot mark a share bad");
      NodeRecovery.Refused unsigned =
          assertThrows(
              NodeRecovery.Refused.class,
              () -> s.node.submit(request, 1, envelope, wellFormedForgery(1)));
      assertEquals(NodeRecovery.Refusal.SENDER_NOT_CUSTODIAN, unsigned.code());
      NodeRecovery.Refused zero =
          assertThrows(
              NodeRecovery.Refused.class, () -> s.node.submit(request, 1, envelope, new byte[64]));
      assertEquals(NodeRecovery.Refusal.MALFORMED, zero.code(), "r = s = 0 is no signature");
    }
  }

  @Test
  void aShareSealedToAnotherNodeKeyDoesNotOpenHere() throws Exception {
    try (Scenario s = new Scenario()) {
      byte[] request = s.chain.authorize(GENERATION, s.node.nodeKeyId());
      RecipientKeyPair elsewhere = RecipientKeyPair.generate(new SecureRandom());
      NodeRecovery.Refused r =
          assertThrows(
              NodeRecovery.Refused.class,
              () -> s.submit(1, request, s.release(1, request, elsewhere)));
      assertEquals(NodeRecovery.Refusal.SHARE_INVALID, r.code());
      assertEquals(
          List.of(1),
          s.node.progress().badShares().stream().map(NodeRecovery.BadShare::index).toList());
    }
  }

  @Test
  void aRootThatIsNotThePublishedIdentityFailsForGoodAndIsNotStored() throws Exception {
    try (Scenario s = new Scenario()) {
      s.publishedRootKey = RecipientKeyPair.generate(new SecureRandom()).publicKey().encode();
      byte[] request = s.chain.authorize(GENERATION, s.node.nodeKeyId());
      s.submit(1, request, s.release(1, request, s.nodeKey));
      NodeRecovery.Progress p = s.submit(2, request, s.release(2, request, s.nodeKey));
      assertEquals(NodeRecovery.State.FAILED, p.state());
      assertTrue(p.detail().contains("not generation 2's published identity"), p.detail());
      assertTrue(s.node.done().isCompletedExceptionally());
      assertEquals(0, s.generationsStored());
      NodeRecovery.Refused after =
          assertThrows(NodeRecovery.Refused.class, () -> s.submit(3, request, new byte[128]));
      assertEquals(NodeRecovery.Refusal.NOT_RECOVERING, after.code());
    }
  }

  @Test
  void noBackupOnChainMeansNoShareIsAccepted() throws Exception {
    try (Scenario s = new Scenario()) {
      s.chain.published.clear();
      byte[] request = new byte[32];
      // A failed read is refused CHAIN_UNAVAILABLE and not remembered: the next submission reads
      // again.
      s.chain.unavailable = "endpoint down";
      NodeRecovery.Refused down =
          assertThrows(
              NodeRecovery.Refused.class,
              () -> s.node.submit(request, 1, new byte[128], wellFormedForgery(1)));
      assertEquals(NodeRecovery.Refusal.CHAIN_UNAVAILABLE, down.code());
      s.chain.unavailable = null;
      NodeRecovery.Refused r =
          assertThrows(
              NodeRecovery.Refused.class,
              () -> s.node.submit(request, 1, new byte[128], wellFormedForgery(2)));
      assertEquals(NodeRecovery.Refusal.NO_SUCH_SHARE, r.code());
    }
  }

  /** 64 bytes r ‖ s, both in range, that no key signed. */
  private static byte[] wellFormedForgery(int variant) {
    byte[] sig = new byte[64];
    new java.util.Random(variant).nextBytes(sig);
    sig[0] = 0x3f;
    sig[32] = 0x3f;
    return sig;
  }

  @Test
  void forgedSubmissionsCostNoChainReadWhenMalformedAndNoneAfterTheFirstWithinTheTtl()
      throws Exception {
    try (Scenario s = new Scenario()) {
      byte[] request = s.chain.authorize(GENERATION, s.node.nodeKeyId());
      byte[] envelope = s.release(1, request, s.nodeKey);
      int reads0 = s.chain.reads.get();
      // Malformed signatures (wrong length, r or s zero or ≥ n) are refused before any chain read.
      byte[] overN = new byte[64];
      java.util.Arrays.fill(overN, 0, 32, (byte) 0xff);
      overN[63] = 1;
      for (int i = 0; i < 300; i++) {
        byte[] sig =
            switch (i % 3) {
              case 0 -> new byte[i % 2 == 0 ? 63 : 65];
              case 1 -> new byte[64];
              default -> overN;
            };
        NodeRecovery.Refused r =
            assertThrows(
                NodeRecovery.Refused.class,
                () -> s.node.submit(request, 1 + (sig.length % 3), envelope, sig));
        assertEquals(NodeRecovery.Refusal.MALFORMED, r.code(), r.getMessage());
      }
      assertEquals(reads0, s.chain.reads.get(), "300 malformed submissions: no chain read");
      // 1,000 well-formed forgeries over the three indices: the backup and each index's custodian
      // key are read once, then every forgery is refused from those facts.
      for (int i = 0; i < 1000; i++) {
        int index = 1 + i % 3;
        byte[] sig = wellFormedForgery(1000 + i);
        NodeRecovery.Refused r =
            assertThrows(
                NodeRecovery.Refused.class, () -> s.node.submit(request, index, envelope, sig));
        assertEquals(NodeRecovery.Refusal.SENDER_NOT_CUSTODIAN, r.code(), r.getMessage());
      }
      assertEquals(
          reads0 + 1 + 3,
          s.chain.reads.get(),
          "1,000 forged submissions: one backup read and one key read per index");
      assertTrue(s.node.progress().badShares().isEmpty(), "no forgery marked a share bad");
      // The custodians' real submissions go through (the authorization is read for them only).
      s.submit(1, request, envelope);
      int afterOne = s.chain.reads.get();
      assertTrue(afterOne > reads0 + 4, "the authorization is read for a custodian's share");
      // Past the TTL the facts are read again, once.
      s.clock.advance(NodeRecovery.DEFAULT_CHAIN_FACTS_TTL.plusSeconds(1));
      for (int i = 0; i < 100; i++) {
        byte[] sig = wellFormedForgery(5000 + i);
        assertThrows(NodeRecovery.Refused.class, () -> s.node.submit(request, 2, envelope, sig));
      }
      assertEquals(afterOne + 2, s.chain.reads.get(), "after the TTL: backup and key once more");
      NodeRecovery.Progress done = s.submit(2, request, s.release(2, request, s.nodeKey));
      assertEquals(NodeRecovery.State.RECOVERED, done.state(), done.detail());
    }
  }

  /** The recovered root derives the vectors' KMS root key and disk keys byte for byte. */
  private static void assertKeysMatchTheVectors(byte[] recovered) throws Exception {
    JsonNode v = vectors();
    try (RootKeyring ring =
        new RootKeyring(GENERATION, SecretBytes.copyOf(recovered, InsecureSecretAccess.get()))) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      int checked = 0;
      for (JsonNode k : v.get("kmsRootKeys")) {
        if (k.get("generation").asInt() != GENERATION) continue;
        try (DerivedKey root = kms.kmsRootKey(GENERATION)) {
          assertEquals(k.get("publicKey").asText(), HEX.formatHex(root.publicKey()));
          checked++;
        }
      }
      for (JsonNode k : v.get("keys")) {
        if (k.get("generation").asInt() != GENERATION || !k.get("purpose").asText().equals("disk"))
          continue;
        KeyRequest r =
            KeyRequest.disk(
                new org.teekms.keys.VersionRef(
                    GENERATION, AppId.fromHex(k.get("appId").asText()), k.get("version").asInt()),
                InstanceId.fromHex(k.get("instanceId").asText()),
                k.get("path").asText());
        try (DerivedKey disk =
            kms.derive(r, new KeyVersionPolicy(k.get("version").asInt(), 1, java.util.Set.of()))) {
          assertEquals(
              k.get("privateKey").asText(),
              HEX.formatHex(disk.privateKeyBytes(InsecureSecretAccess.get())));
          checked++;
        }
      }
      assertTrue(checked >= 3, "checked " + checked + " vectors");
    }
  }
}
