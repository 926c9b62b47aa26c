package org.teekms.kms.custody;

import io.smallrye.mutiny.Uni;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.teekms.governance.RootCustody;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;

/**
 * Where a recovered root goes ({@link NodeRecovery.Sink}): in one transaction, the database must
 * still hold no root generation; the generation is inserted CURRENT, sealed under this node's
 * sealing key as for any root ({@link RootGenerationStore#insert}); its {@code root_backup} row is
 * the on-chain backup it was recovered from, PUBLISHED, with the record MAC under the recovered
 * root (so the automatic backup never splits it again); and the audit entry {@code ROOT_CUSTODY
 * recovered} (generation, request, threshold, the bad share indices). Nothing secret is written
 * unsealed or logged.
 */
public final class RecoveredRootStore implements NodeRecovery.Sink {

  private final StateSessions sessions;
  private final RootGenerationStore roots;
  private final AuditLog audit;
  private final Clock clock;
  private final Duration timeout;
  private final SecureRandom random;

  public RecoveredRootStore(
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock,
      Duration timeout,
      SecureRandom random) {
    this.sessions = sessions;
    this.roots = roots;
    this.audit = audit;
    this.clock = clock;
    this.timeout = timeout;
    this.random = random;
  }

  /**
   * Runs the transaction and waits for its end (at most the configured database timeout). This one
   * wait is deliberate: {@link NodeRecovery#submit} is a synchronized state machine that runs on a
   * worker thread (RecoveryService hands it to the worker pool) and already blocks on chain reads;
   * it may call the node RECOVERED, and the caller may zeroize {@code root}, only once the sealed
   * root, its backup row and its audit entry are committed. It runs once in a node's life.
   */
  @Override
  public void store(
      int generation,
      byte[] root,
      RootCustody.Backup backup,
      byte[] requestId,
      List<NodeRecovery.BadShare> bad) {
    byte[] tag = new byte[16];
    random.nextBytes(tag);
    BackupRecord record =
        new BackupRecord(
            generation,
            backup.threshold(),
            backup.commitments(),
            backup.custodianIds(),
            backup.envelopeDigests(),
            HexFormat.of().formatHex(tag));
    byte[] mac = record.mac(root);
    long now = clock.millis();
    byte[] sealedInput = root.clone();
    Uni<Void> tx =
        sessions.inTransaction(
            c ->
                roots
                    .count(c)
                    .onItem()
                    .transformToUni(
                        count -> {
                          if (count > 0) {
                            return Uni.createFrom()
                                .failure(
                                    new IllegalStateException(
                                        "the database already holds root generations: "
                                            + "a recovered root is stored only into an empty database"));
                          }
                          Uni<Void> insert;
                          try {
                            insert =
                                roots.insert(c, generation, RootState.CURRENT, sealedInput, now);
                          } finally {
                            java.util.Arrays.fill(sealedInput, (byte) 0);
                          }
                          return insert;
                        })
                    .chain(
                        () ->
                            c.createNativeQuery(
                                    "INSERT INTO root_backup (generation, state, staging_tag, threshold, "
                                        + "commitments, custodian_ids, envelope_digests, record_mac, created_at, published_block) "
                                        + "VALUES (?1, 'PUBLISHED', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
                                .setParameter(1, generation)
                                .setParameter(2, record.stagingTag())
                                .setParameter(3, record.threshold())
                                .setParameter(4, record.commitments().toByteArray())
                                .setParameter(5, BackupRecord.concat(record.custodianIds()))
                                .setParameter(6, BackupRecord.concat(record.envelopeDigests()))
                                .setParameter(7, mac)
                                .setParameter(8, now)
                                .setParameter(9, backup.publishedAtBlock())
                                .executeUpdate())
                    .chain(
                        () ->
                            audit.append(
                                c,
                                AuditDraft.allowed(
                                    "ROOT_CUSTODY",
                                    null,
                                    AuditDetail.json(
                                        Map.of(
                                            "step",
                                            "recovered",
                                            "generation",
                                            generation,
                                            "requestId",
                                            "0x" + HexFormat.of().formatHex(requestId),
                                            "threshold",
                                            backup.threshold(),
                                            "badShares",
                                            bad.stream().map(NodeRecovery.BadShare::index).toList(),
                                            "sealingKeyId",
                                            roots.sealingKeyId())))))
                    .replaceWithVoid());
    tx.await().atMost(timeout);
  }
}
