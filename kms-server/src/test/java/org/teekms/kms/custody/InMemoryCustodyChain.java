package org.teekms.kms.custody;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.teekms.crypto.Bytes;
import org.teekms.custody.BackupStore;
import org.teekms.custody.CustodyException;
import org.teekms.custody.RecipientKey;
import org.teekms.custody.RecipientKeyPair;
import org.teekms.custody.RootBackup;
import org.teekms.governance.RootCustody;

/**
 * The simulated {@link CustodyChainPort}: custodians with their private keys (so tests can play
 * them) and the backups "published", as {@code teekms gov publish-backup} would publish them from
 * the share store.
 */
final class InMemoryCustodyChain implements CustodyChainPort {
  final List<RecipientKeyPair> custodians = new ArrayList<>();
  final Map<Integer, RootCustody.Backup> published = new HashMap<>();
  volatile String unavailable;

  /** Every read a caller made of this chain, whatever it answered. */
  final java.util.concurrent.atomic.AtomicInteger reads =
      new java.util.concurrent.atomic.AtomicInteger();

  /**
   * Recovery requests the owner authorized: request id (hex) → generation and node key id (hex).
   */
  final Map<String, String> authorized = new HashMap<>();

  InMemoryCustodyChain(int custodianCount, SecureRandom random) {
    for (int i = 0; i < custodianCount; i++) custodians.add(RecipientKeyPair.generate(random));
  }

  @Override
  public CustodianSet activeCustodians() {
    reads.incrementAndGet();
    if (unavailable != null) throw new CustodyUnavailable(unavailable);
    return new CustodianSet(custodians.stream().map(RecipientKeyPair::publicKey).toList(), 7);
  }

  @Override
  public Optional<RootCustody.Backup> publishedBackup(int generation) {
    reads.incrementAndGet();
    if (unavailable != null) throw new CustodyUnavailable(unavailable);
    return Optional.ofNullable(published.get(generation));
  }

  @Override
  public Optional<RecipientKey> custodianKey(byte[] id) {
    reads.incrementAndGet();
    if (unavailable != null) throw new CustodyUnavailable(unavailable);
    return custodians.stream()
        .map(RecipientKeyPair::publicKey)
        .filter(k -> java.util.Arrays.equals(k.id(), id))
        .findFirst();
  }

  @Override
  public RootCustody.Authorization recoveryAuthorization(
      byte[] requestId, int generation, byte[] nodeKeyId) {
    reads.incrementAndGet();
    if (unavailable != null) throw new CustodyUnavailable(unavailable);
    java.util.HexFormat hex = java.util.HexFormat.of();
    String entry = authorized.get(hex.formatHex(requestId));
    if (entry == null) return new RootCustody.Authorization(false, "unknown recovery request");
    if (!entry.equals(generation + "/" + hex.formatHex(nodeKeyId))) {
      return new RootCustody.Authorization(false, "another generation or node key");
    }
    return new RootCustody.Authorization(true, "");
  }

  /** What {@code teekms gov authorize-recovery} does on chain; returns the request id. */
  byte[] authorize(int generation, byte[] nodeKeyId) {
    byte[] requestId = new byte[32];
    new SecureRandom().nextBytes(requestId);
    java.util.HexFormat hex = java.util.HexFormat.of();
    authorized.put(hex.formatHex(requestId), generation + "/" + hex.formatHex(nodeKeyId));
    return requestId;
  }

  /**
   * What the owner's publish-backup sends: the store's commitments, custodian ids and envelope
   * digests.
   */
  void publishFromStore(java.nio.file.Path store, int generation) throws CustodyException {
    publish(new BackupStore(store).read(generation));
  }

  void publish(RootBackup b) {
    published.put(
        (int) b.generation(),
        new RootCustody.Backup(
            b.generation(),
            b.commitments().threshold(),
            Bytes.copyOf(b.commitments().encode()),
            b.shares().stream().map(s -> Bytes.copyOf(s.custodian().id())).toList(),
            b.envelopeDigests().stream().map(Bytes::copyOf).toList(),
            42));
  }

  List<RecipientKey> keys() {
    return custodians.stream().map(RecipientKeyPair::publicKey).toList();
  }
}
