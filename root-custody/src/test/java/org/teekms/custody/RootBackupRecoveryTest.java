package org.teekms.custody;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

/** Backup → custodian check and re-encryption → recovery, through the library only (no chain). */
class RootBackupRecoveryTest {
  private static final InsecureSecretAccess ACCESS = InsecureSecretAccess.get();
  private static final long GENERATION = 4;
  private static final byte[] REQUEST =
      Group.sha256("request-1".getBytes(java.nio.charset.StandardCharsets.UTF_8));

  private final SecretBytes root =
      SecretBytes.copyOf(Group.to32(Shamir.uniformScalar(new SeededRandom("root"))), ACCESS);
  private final List<RecipientKeyPair> custodians = new ArrayList<>();
  private final RecipientKeyPair node = RecipientKeyPair.generate(new SeededRandom("node"));
  private final RootBackup backup;
  private final byte[] published;

  RootBackupRecoveryTest() throws CustodyException {
    for (int i = 0; i < 5; i++)
      custodians.add(RecipientKeyPair.generate(new SeededRandom("custodian" + i)));
    backup =
        RootBackup.create(
            GENERATION,
            root,
            3,
            custodians.stream().map(RecipientKeyPair::publicKey).toList(),
            new SeededRandom("backup"));
    published = RootRecovery.rootPublicKey(GENERATION, root);
  }

  private byte[] reencrypt(int index) throws CustodyException {
    RootBackup.SealedShare s = backup.shares().get(index - 1);
    return CustodianShare.reencrypt(
        custodians.get(index - 1),
        GENERATION,
        index,
        backup.commitments(),
        s.envelope().toByteArray(),
        s.digest(),
        node.publicKey(),
        REQUEST,
        new SeededRandom("reseal" + index));
  }

  @Test
  void thresholdCustodiansRecoverTheRootThatThePublishedKeyNames() throws Exception {
    assertEquals(5, backup.shares().size());
    assertEquals(5, backup.envelopeDigests().size());
    Map<Integer, byte[]> envelopes =
        new TreeMap<>(Map.of(2, reencrypt(2), 4, reencrypt(4), 5, reencrypt(5)));
    try (Shamir.Recovered r =
        RootRecovery.recover(
            GENERATION, backup.commitments(), REQUEST, node, envelopes, published)) {
      assertTrue(r.secret().equalsSecret(root));
      assertEquals(List.of(), r.badIndices());
      assertArrayEquals(published, RootRecovery.rootPublicKey(GENERATION, r.secret()));
    }
  }

  @Test
  void eachCustodianCanCheckItsShareAgainstThePublishedCommitments() throws Exception {
    for (int i = 1; i <= 5; i++) {
      RootBackup.SealedShare s = backup.shares().get(i - 1);
      assertEquals(i, s.index());
      assertEquals(custodians.get(i - 1).publicKey(), s.custodian());
      try (Share share =
          CustodianShare.open(
              custodians.get(i - 1),
              GENERATION,
              i,
              backup.commitments(),
              s.envelope().toByteArray(),
              s.digest())) {
        assertTrue(backup.commitments().verify(share));
      }
    }
  }

  @Test
  void anEnvelopeTheStoreSwappedIsRefusedByItsCustodian() throws Exception {
    byte[] other = backup.shares().get(1).envelope().toByteArray();
    CustodyException e =
        assertThrows(
            CustodyException.class,
            () ->
                CustodianShare.open(
                    custodians.get(0),
                    GENERATION,
                    1,
                    backup.commitments(),
                    other,
                    backup.shares().get(0).digest()));
    assertEquals(CustodyException.Reason.IDENTITY_MISMATCH, e.reason());
    assertEquals("share envelope 1 does not have the digest published on chain", e.getMessage());
  }

  @Test
  void aCustodianSendingGarbageOrAnotherShareIsNamedAndOutvoted() throws Exception {
    byte[] garbage = reencrypt(3);
    garbage[100] ^= 1;
    // custodian 5 seals a valid-looking share with the wrong value
    Share wrong = Share.of(5, Group.to32(java.math.BigInteger.valueOf(12345)), ACCESS);
    byte[] lying =
        ShareEnvelope.seal(
            node.publicKey(),
            EnvelopeContext.recovery(GENERATION, 5, backup.commitments().digest(), REQUEST),
            wrong,
            new SeededRandom("l"));
    Map<Integer, byte[]> envelopes =
        new TreeMap<>(
            Map.of(1, reencrypt(1), 2, reencrypt(2), 3, garbage, 4, reencrypt(4), 5, lying));
    try (Shamir.Recovered r =
        RootRecovery.recover(
            GENERATION, backup.commitments(), REQUEST, node, envelopes, published)) {
      assertTrue(r.secret().equalsSecret(root));
      assertEquals(List.of(3, 5), r.badIndices());
    }
    envelopes.remove(1);
    envelopes.remove(2);
    CustodyException e =
        assertThrows(
            CustodyException.class,
            () ->
                RootRecovery.recover(
                    GENERATION, backup.commitments(), REQUEST, node, envelopes, published));
    assertEquals(CustodyException.Reason.NOT_ENOUGH_SHARES, e.reason());
    assertEquals(List.of(3, 5), e.badIndices());
    assertEquals("1 of 3 shares valid, 3 needed; bad share indices [3, 5]", e.getMessage());
  }

  @Test
  void sharesReencryptedForAnotherRequestOrNodeDoNotOpen() throws Exception {
    RecipientKeyPair intruder = RecipientKeyPair.generate(new SeededRandom("intruder"));
    Map<Integer, byte[]> envelopes = Map.of(1, reencrypt(1), 2, reencrypt(2), 3, reencrypt(3));
    CustodyException wrongNode =
        assertThrows(
            CustodyException.class,
            () ->
                RootRecovery.recover(
                    GENERATION, backup.commitments(), REQUEST, intruder, envelopes, published));
    assertEquals(List.of(1, 2, 3), wrongNode.badIndices());
    CustodyException wrongRequest =
        assertThrows(
            CustodyException.class,
            () ->
                RootRecovery.recover(
                    GENERATION, backup.commitments(), new byte[32], node, envelopes, published));
    assertEquals(List.of(1, 2, 3), wrongRequest.badIndices());
  }

  @Test
  void aRootThatIsNotThePublishedIdentityIsRefused() throws Exception {
    Map<Integer, byte[]> envelopes = Map.of(1, reencrypt(1), 2, reencrypt(2), 3, reencrypt(3));
    byte[] otherKey = RootRecovery.rootPublicKey(GENERATION + 1, root);
    CustodyException e =
        assertThrows(
            CustodyException.class,
            () ->
                RootRecovery.recover(
                    GENERATION, backup.commitments(), REQUEST, node, envelopes, otherKey));
    assertEquals(CustodyException.Reason.IDENTITY_MISMATCH, e.reason());
    assertEquals(
        "the recovered root is not generation 4's published identity (KMS root public key)",
        e.getMessage());
  }

  @Test
  void aBackupRefusesRepeatedCustodiansAndBadGenerations() {
    RecipientKey k = custodians.get(0).publicKey();
    assertEquals(
        "a custodian key appears twice",
        assertThrows(
                CustodyException.class,
                () -> RootBackup.create(1, root, 2, List.of(k, k), new SeededRandom("x")))
            .getMessage());
    assertEquals(
        "generation must be 1..2^32-1, got 0",
        assertThrows(
                CustodyException.class,
                () -> RootBackup.create(0, root, 1, List.of(k), new SeededRandom("x")))
            .getMessage());
    assertEquals(
        "share count must be 3..255, got 2",
        assertThrows(
                CustodyException.class,
                () ->
                    RootBackup.create(
                        1,
                        root,
                        3,
                        List.of(k, custodians.get(1).publicKey()),
                        new SeededRandom("x")))
            .getMessage());
  }
}
