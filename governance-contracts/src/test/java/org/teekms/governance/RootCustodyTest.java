package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.web3j.crypto.Credentials;

/**
 * RootCustody: only the registry owner (an EOA or a multisig) registers custodians, publishes and
 * authorizes.
 */
class RootCustodyTest extends AnvilTestBase {
  private static RootCustody custody;

  @BeforeAll
  static void deploy() throws Exception {
    custody = RootCustody.deploy(chain, operator, registry.address());
  }

  /**
   * A 65-byte uncompressed-looking key (the contract checks form, the custody library checks the
   * curve).
   */
  static byte[] key(int seed) {
    byte[] k = new byte[65];
    k[0] = 4;
    System.arraycopy(b32(seed), 0, k, 1, 32);
    System.arraycopy(b32(seed + 100), 0, k, 33, 32);
    return k;
  }

  static byte[] commitments(int t) {
    byte[] c = new byte[2 + 33 * t];
    c[0] = 1;
    c[1] = (byte) t;
    for (int i = 2; i < c.length; i++) c[i] = (byte) i;
    return c;
  }

  private static List<byte[]> registerThree() throws Exception {
    for (int i = 1; i <= 3; i++)
      custody.registerCustodian(key(i), RootCustody.Kind.values()[i], "custodian " + i);
    return List.of(sha256(key(1)), sha256(key(2)), sha256(key(3)));
  }

  @Test
  void theOwnerRegistersCustodiansByKeyHash() throws Exception {
    assertEquals(registry.address(), custody.registry());
    assertEquals(addr(operator), custody.owner());
    TxResult tx = custody.registerCustodian(key(1), RootCustody.Kind.HSM, "hsm-eu-1");
    assertSingleEvent(
        tx,
        custody,
        "CustodianRegistered",
        Map.of(
            "by",
            addr(operator),
            "id",
            sha256(key(1)),
            "kind",
            2,
            "name",
            "hsm-eu-1",
            "publicKey",
            key(1)));
    RootCustody.Custodian c = custody.custodian(sha256(key(1)));
    assertArrayEquals(key(1), c.publicKey().toByteArray());
    assertEquals(RootCustody.Kind.HSM, c.kind());
    assertTrue(c.active());
    assertEquals(1, custody.custodianIds().size());
    assertReverts(
        "custodian already registered",
        () -> custody.registerCustodian(key(1), RootCustody.Kind.OPERATOR, "again"));
    assertReverts(
        "public key must be 65-byte uncompressed P-256",
        () -> custody.registerCustodian(new byte[33], RootCustody.Kind.OPERATOR, "short"));
    assertReverts(
        "name empty or too long",
        () -> custody.registerCustodian(key(2), RootCustody.Kind.OPERATOR, ""));
    assertReverts(
        "caller is not the registry owner",
        () ->
            custody
                .withSigner(stranger)
                .registerCustodian(key(2), RootCustody.Kind.OPERATOR, "intruder"));
    custody.deactivateCustodian(sha256(key(1)));
    assertFalse(custody.custodian(sha256(key(1))).active());
    assertReverts("no such custodian", () -> custody.custodian(b32(5)));
  }

  @Test
  void aBackupIsPublishedOnceWithOneActiveCustodianPerShare() throws Exception {
    List<byte[]> ids = registerThree();
    List<byte[]> digests = List.of(b32(11), b32(12), b32(13));
    assertReverts(
        "caller is not the registry owner",
        () -> custody.withSigner(stranger).publishBackup(2, commitments(2), ids, digests));
    assertReverts(
        "commitments: bad length for threshold",
        () -> custody.publishBackup(2, java.util.Arrays.copyOf(commitments(2), 67), ids, digests));
    assertReverts(
        "share count below threshold or too large",
        () -> custody.publishBackup(2, commitments(2), ids.subList(0, 1), digests.subList(0, 1)));
    assertReverts(
        "one envelope digest per custodian",
        () -> custody.publishBackup(2, commitments(2), ids, digests.subList(0, 2)));
    assertReverts(
        "custodian named twice",
        () ->
            custody.publishBackup(
                2, commitments(2), List.of(ids.get(0), ids.get(1), ids.get(0)), digests));
    assertReverts(
        "custodian not registered or not active",
        () ->
            custody.publishBackup(
                2, commitments(2), List.of(ids.get(0), ids.get(1), b32(99)), digests));
    TxResult tx = custody.publishBackup(2, commitments(2), ids, digests);
    assertSingleEvent(
        tx,
        custody,
        "BackupPublished",
        Map.of("generation", 2, "threshold", 2, "commitmentsDigest", sha256(commitments(2))));
    RootCustody.Backup b = custody.backup(2);
    assertEquals(2, b.threshold());
    assertArrayEquals(commitments(2), b.commitments().toByteArray());
    assertArrayEquals(ids.get(2), b.custodianIds().get(2).toByteArray());
    assertArrayEquals(digests.get(1), b.envelopeDigests().get(1).toByteArray());
    assertEquals(List.of(2L), custody.generations());
    assertReverts(
        "backup already published", () -> custody.publishBackup(2, commitments(2), ids, digests));
    assertReverts("no backup for generation", () -> custody.backup(3));
  }

  @Test
  void aRecoveryIsAuthorizedForOneGenerationAndNodeKeyUntilItExpiresOrIsRevoked() throws Exception {
    List<byte[]> ids = registerThree();
    custody.publishBackup(1, commitments(2), ids, List.of(b32(1), b32(2), b32(3)));
    byte[] node = sha256(key(50));
    assertReverts("no backup for generation", () -> custody.authorizeRecovery(2, node, 10));
    assertReverts(
        "caller is not the registry owner",
        () -> custody.withSigner(stranger).authorizeRecovery(1, node, 10));
    RootCustody.Recovery r = custody.authorizeRecovery(1, node, 10);
    RootCustody.Recovery r2 = custody.authorizeRecovery(1, node, 10);
    assertNotEquals(
        java.util.HexFormat.of().formatHex(r.requestId().toByteArray()),
        java.util.HexFormat.of().formatHex(r2.requestId().toByteArray()),
        "request ids are unique");
    assertEquals(1, r.generation());
    assertArrayEquals(node, r.nodeKeyId().toByteArray());
    assertEquals(
        new RootCustody.Authorization(true, ""),
        custody.isRecoveryAuthorized(r.requestId().toByteArray(), 1, node));
    assertEquals(
        new RootCustody.Authorization(false, "recovery request is for another node key"),
        custody.isRecoveryAuthorized(r.requestId().toByteArray(), 1, sha256(key(51))));
    assertEquals(
        new RootCustody.Authorization(false, "recovery request is for another generation"),
        custody.isRecoveryAuthorized(r.requestId().toByteArray(), 2, node));
    assertEquals(
        new RootCustody.Authorization(false, "no such recovery request"),
        custody.isRecoveryAuthorized(b32(3), 1, node));
    custody.revokeRecovery(r.requestId().toByteArray());
    assertEquals(
        new RootCustody.Authorization(false, "recovery request revoked"),
        custody.isRecoveryAuthorized(r.requestId().toByteArray(), 1, node));
    assertReverts(
        "recovery already revoked", () -> custody.revokeRecovery(r.requestId().toByteArray()));
    anvil.mine(20);
    assertEquals(
        new RootCustody.Authorization(false, "recovery request expired"),
        custody.isRecoveryAuthorized(r2.requestId().toByteArray(), 1, node));
  }

  @Test
  void aMultisigRegistryOwnerAuthorizesRecoveryWithItsApprovals() throws Exception {
    registerThree();
    custody.publishBackup(
        1, commitments(2), List.of(sha256(key(1)), sha256(key(2))), List.of(b32(1), b32(2)));
    Credentials a = anvil.fundedAccount();
    Credentials b = anvil.fundedAccount();
    String w =
        org.teekms.governance.testing.TestMultisigs.deploy(chain, operator, List.of(a, b), 2);
    registry.transferOwnership(w);
    String accept = org.teekms.governance.contracts.KmsRegistryContract.getABI_acceptOwnership();
    chain.send(
        a, w, org.teekms.governance.testing.TestMultisigs.submit(registry.address(), accept, 1));
    chain.send(
        b, w, org.teekms.governance.testing.TestMultisigs.submit(registry.address(), accept, 1));
    assertEquals(w, registry.owner());

    byte[] node = sha256(key(60));
    assertReverts("caller is not the registry owner", () -> custody.authorizeRecovery(1, node, 10));
    String call = custody.calldata("authorizeRecovery", 1, node, 10);
    TxResult first =
        chain.send(
            a, w, org.teekms.governance.testing.TestMultisigs.submit(custody.address(), call, 2));
    assertTrue(custody.recoveryFrom(first).isEmpty(), "one approval authorizes nothing");
    TxResult second =
        chain.send(
            b, w, org.teekms.governance.testing.TestMultisigs.submit(custody.address(), call, 2));
    RootCustody.Recovery r = custody.recoveryFrom(second).orElseThrow();
    assertEquals(
        new RootCustody.Authorization(true, ""),
        custody.isRecoveryAuthorized(r.requestId().toByteArray(), 1, node));
  }
}
