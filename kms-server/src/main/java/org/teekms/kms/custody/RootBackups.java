package org.teekms.kms.custody;

import io.smallrye.mutiny.Uni;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.hibernate.reactive.mutiny.Mutiny;
import org.jboss.logging.Logger;
import org.teekms.crypto.Bytes;
import org.teekms.custody.BackupStore;
import org.teekms.custody.CustodyException;
import org.teekms.custody.RecipientKey;
import org.teekms.custody.RootBackup;
import org.teekms.governance.RootCustody;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;

/**
 * Automatic threshold backup of root generations (docs/root-custody.md §9): the generation's root
 * is split t-of-n among the custodians registered on chain, each share sealed to its custodian, the
 * envelopes written to the share store (a directory custodians read), and the backup recorded in
 * {@code root_backup}; the registry owner publishes it on chain ({@code teekms gov publish-backup}:
 * the KMS holds no chain key), and the KMS then checks that what is on chain is exactly what it
 * made.
 *
 * <p>Two steps, each in the caller's transaction, so that a crash at any point leaves a state the
 * next attempt completes (the crash-safety argument):
 *
 * <ol>
 *   <li>{@link #stage}: with the generation's row locked ({@code FOR UPDATE}, so replicas never
 *       stage one generation twice), if no record exists: read the active custodians (pinned block,
 *       RPC quorum), split, seal, write the envelopes to a staging folder {@code
 *       .staging-generation-G-TAG} (fsync'd) that custodians never read, and insert the record
 *       (digests, commitments, MAC under a root-derived key). A crash before the commit leaves only
 *       a staging folder no record names: invisible, swept by the next attempt, which splits
 *       afresh; nothing of it can be on chain, because the owner publishes only from {@code
 *       generation-G}. After the commit the record is the one backup of G: it is never split again.
 *   <li>{@link #revealAndCheck}: verify the record's MAC (a host that edits the database cannot
 *       substitute another backup), rename the staging folder to {@code generation-G} (atomic;
 *       already done = fine, so a crash after the rename is harmless), check the visible files
 *       still have the recorded digests, then read the chain: nothing published yet = {@link
 *       Publication#NOT_PUBLISHED} (retry later), exactly the record = PUBLISHED (stored with its
 *       block), anything else = {@link BackupMismatch} (permanent: custody of G cannot be
 *       completed).
 * </ol>
 *
 * Shares exist only inside {@link RootBackup#create} and are zeroized there; the root is unsealed
 * into a byte array that is zeroized in {@code finally}; nothing secret is logged. Blocking work
 * (chain reads, the split, file I/O) runs on Mutiny's worker pool, never on the event loop.
 */
public final class RootBackups {

  private static final Logger LOG = Logger.getLogger(RootBackups.class);

  /**
   * @param threshold shares needed to recover (t); the custodian set read from chain gives n
   * @param store the share store directory
   * @param requirePublished true (the default): a generation becomes CURRENT only once its backup
   *     is published on chain and matches; false: it may become CURRENT as soon as its backup is in
   *     the share store
   */
  public record Settings(int threshold, Path store, boolean requirePublished) {
    public Settings {
      if (threshold < 1 || threshold > 255)
        throw new IllegalArgumentException("custody threshold must be 1..255");
    }
  }

  /** Whether the on-chain backup of a generation is this KMS's. */
  public enum Publication {
    PUBLISHED,
    NOT_PUBLISHED
  }

  private final CustodyChainPort chain;
  private final Settings settings;
  private final RootGenerationStore roots;
  private final BackupStore store;
  private final SecureRandom random;

  public RootBackups(
      CustodyChainPort chain, Settings settings, RootGenerationStore roots, SecureRandom random) {
    this.chain = chain;
    this.settings = settings;
    this.roots = roots;
    this.store = new BackupStore(settings.store());
    this.random = random;
  }

  public Settings settings() {
    return settings;
  }

  /** The share store's directory for a generation (what the owner publishes from). */
  public Path generationDir(int generation) {
    return store.generationDir(generation);
  }

  /**
   * Step 1 (see the class comment): the generation's backup record, staging it if there is none
   * yet.
   */
  public Uni<BackupRecord> stage(Mutiny.Session tx, int generation) {
    return roots
        .lock(tx, generation)
        .onItem()
        .transformToUni(
            locked -> {
              if (locked.isEmpty()) {
                return Uni.createFrom()
                    .failure(
                        new IllegalStateException(
                            "root generation " + generation + " does not exist"));
              }
              if (locked.get().state() == RootState.DESTROYED) {
                return Uni.createFrom()
                    .failure(
                        new BackupMismatch("root generation " + generation + " was destroyed"));
              }
              return find(tx, generation);
            })
        .onItem()
        .transformToUni(
            found ->
                found.isPresent()
                    ? Uni.createFrom().item(found.get().record())
                    : roots
                        .unseal(tx, generation)
                        .onItem()
                        .transformToUni(
                            secret -> StateSessions.blocking(() -> split(generation, secret)))
                        .call(
                            made ->
                                tx.createNativeQuery(
                                        "INSERT INTO root_backup (generation, state, staging_tag, threshold, "
                                            + "commitments, custodian_ids, envelope_digests, record_mac, created_at) "
                                            + "VALUES (?1, 'STAGED', ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                                    .setParameter(1, generation)
                                    .setParameter(2, made.record().stagingTag())
                                    .setParameter(3, made.record().threshold())
                                    .setParameter(4, made.record().commitments().toByteArray())
                                    .setParameter(
                                        5, BackupRecord.concat(made.record().custodianIds()))
                                    .setParameter(
                                        6, BackupRecord.concat(made.record().envelopeDigests()))
                                    .setParameter(7, made.mac().toByteArray())
                                    .setParameter(8, System.currentTimeMillis())
                                    .executeUpdate())
                        .map(Made::record));
  }

  private record Made(BackupRecord record, Bytes mac) {}

  /** Runs on a worker thread; consumes (zeroizes) {@code secret}. */
  private Made split(int generation, byte[] secret) {
    try {
      CustodyChainPort.CustodianSet set = chain.activeCustodians();
      List<RecipientKey> custodians = set.keys();
      if (custodians.size() < settings.threshold()) {
        throw new CustodyUnavailable(
            "backup of root generation "
                + generation
                + ": "
                + custodians.size()
                + " active custodians on chain, fewer than the threshold "
                + settings.threshold()
                + " (register more with "
                + "teekms gov register-custodian)");
      }
      String tag = HexFormat.of().formatHex(randomBytes(16));
      RootBackup backup;
      try (SecretBytes root = SecretBytes.copyOf(secret, InsecureSecretAccess.get())) {
        backup = RootBackup.create(generation, root, settings.threshold(), custodians, random);
      } catch (CustodyException e) {
        throw new BackupMismatch(
            "root generation " + generation + " cannot be backed up: " + e.getMessage());
      }
      try {
        for (Path stale : store.staleStaging(generation, tag)) {
          BackupStore.deleteFolder(stale);
        }
        store.writeStaging(backup, tag);
      } catch (IOException e) {
        throw new CustodyUnavailable(
            "cannot write the share store " + settings.store() + ": " + e.getMessage(), e);
      }
      BackupRecord record =
          new BackupRecord(
              generation,
              settings.threshold(),
              Bytes.copyOf(backup.commitments().encode()),
              custodians.stream().map(c -> Bytes.copyOf(c.id())).toList(),
              backup.envelopeDigests().stream().map(Bytes::copyOf).toList(),
              tag);
      LOG.infof(
          "root generation %d: %d-of-%d backup staged in %s (custodians as of block %d)",
          generation,
          settings.threshold(),
          custodians.size(),
          store.stagingDir(generation, tag),
          set.block());
      return new Made(record, Bytes.copyOf(record.mac(secret)));
    } finally {
      Arrays.fill(secret, (byte) 0);
    }
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** Step 2 (see the class comment). Needs the record of {@link #stage}. */
  public Uni<Publication> revealAndCheck(Mutiny.Session tx, int generation) {
    return find(tx, generation)
        .onItem()
        .transformToUni(
            found -> {
              if (found.isEmpty()) {
                return Uni.createFrom()
                    .failure(
                        new IllegalStateException(
                            "root generation " + generation + " has no staged backup"));
              }
              Stored stored = found.get();
              return roots
                  .unseal(tx, generation)
                  .map(
                      secret -> {
                        try {
                          if (!stored.record().verify(secret, stored.mac().toByteArray())) {
                            throw new BackupMismatch(
                                "the database's backup record of root generation "
                                    + generation
                                    + " does not "
                                    + "authenticate under the generation's root: it was not written by a KMS node (edited database?)");
                          }
                          return stored;
                        } finally {
                          Arrays.fill(secret, (byte) 0);
                        }
                      });
            })
        .onItem()
        .transformToUni(
            stored ->
                StateSessions.blocking(() -> revealAndRead(stored))
                    .onItem()
                    .transformToUni(
                        onChain -> {
                          if (onChain.isEmpty())
                            return Uni.createFrom().item(Publication.NOT_PUBLISHED);
                          String difference = stored.record().differenceFrom(onChain.get());
                          if (difference != null) {
                            return Uni.createFrom()
                                .failure(
                                    new BackupMismatch(
                                        "the backup of root generation "
                                            + generation
                                            + " published on chain (block "
                                            + onChain.get().publishedAtBlock()
                                            + ") is not the one this KMS made: "
                                            + difference
                                            + "; refused (fail closed)"));
                          }
                          return tx.createNativeQuery(
                                  "UPDATE root_backup SET state = 'PUBLISHED', published_block = ?2 "
                                      + "WHERE generation = ?1")
                              .setParameter(1, generation)
                              .setParameter(2, onChain.get().publishedAtBlock())
                              .executeUpdate()
                              .replaceWith(Publication.PUBLISHED);
                        }));
  }

  private Optional<RootCustody.Backup> revealAndRead(Stored stored) {
    BackupRecord r = stored.record();
    try {
      store.reveal(r.generation(), r.stagingTag());
    } catch (IOException e) {
      throw new CustodyUnavailable(
          "root generation "
              + r.generation()
              + ": cannot make the staged backup visible in "
              + "the share store: "
              + e.getMessage()
              + " (restore the store's folder)",
          e);
    }
    try {
      RootBackup visible = store.read(r.generation());
      List<Bytes> digests = visible.envelopeDigests().stream().map(Bytes::copyOf).toList();
      if (!Bytes.copyOf(visible.commitments().encode()).equals(r.commitments())
          || !digests.equals(r.envelopeDigests())) {
        throw new CustodyUnavailable(
            "the share store's "
                + store.generationDir(r.generation())
                + " does not hold the "
                + "backup this KMS wrote (other commitments or envelopes): restore it from the staging copy or a replica");
      }
    } catch (CustodyException e) {
      throw new CustodyUnavailable(
          "the share store's backup of root generation "
              + r.generation()
              + " is unreadable: "
              + e.getMessage(),
          e);
    }
    return chain.publishedBackup(r.generation());
  }

  private record Stored(BackupRecord record, Bytes mac, String state) {}

  private Uni<Optional<Stored>> find(Mutiny.Session tx, int generation) {
    return tx.createNativeQuery(
            "SELECT state, staging_tag, threshold, commitments, custodian_ids, envelope_digests, "
                + "record_mac FROM root_backup WHERE generation = ?1",
            Object[].class)
        .setParameter(1, generation)
        .getResultList()
        .map(
            rows -> {
              if (rows.isEmpty()) return Optional.empty();
              Object[] r = rows.get(0);
              return Optional.of(
                  new Stored(
                      new BackupRecord(
                          generation,
                          ((Number) r[2]).intValue(),
                          Bytes.copyOf((byte[]) r[3]),
                          BackupRecord.split32((byte[]) r[4]),
                          BackupRecord.split32((byte[]) r[5]),
                          (String) r[1]),
                      Bytes.copyOf((byte[]) r[6]),
                      (String) r[0]));
            });
  }

  /**
   * At startup (bootstrap of generation 1, or custody enabled on a running deployment): backs up
   * the CURRENT generation if it has no backup yet (both steps, each in its own transaction,
   * audited), then, with {@code requirePublished}, waits up to {@code wait} for its publication,
   * reading the chain every {@code poll} (a timer between reads, no thread held). The KMS does not
   * serve before the returned Uni completes.
   *
   * @return fails with {@link IllegalStateException} when the publication did not come in time
   *     (startup fails; the staged backup is kept and the next start waits for the same one), or on
   *     a {@link BackupMismatch}
   */
  public Uni<Publication> backUpCurrent(
      StateSessions sessions,
      org.teekms.kms.audit.AuditLog audit,
      java.time.Duration dbTimeout,
      java.time.Duration wait,
      java.time.Duration poll) {
    java.time.Duration stepTimeout = dbTimeout.multipliedBy(6);
    return roots
        .current()
        .ifNoItem()
        .after(dbTimeout)
        .fail()
        .map(
            current ->
                current
                    .orElseThrow(
                        () -> new IllegalStateException("no CURRENT root generation to back up"))
                    .generation())
        .chain(
            generation ->
                state(sessions, generation)
                    .ifNoItem()
                    .after(dbTimeout)
                    .fail()
                    .chain(
                        before -> {
                          if (before.isPresent() && "PUBLISHED".equals(before.get())) {
                            return Uni.createFrom().item(Publication.PUBLISHED);
                          }
                          Uni<Void> staged =
                              before.isPresent()
                                  ? Uni.createFrom().voidItem()
                                  : sessions
                                      .inTransaction(
                                          tx ->
                                              stage(tx, generation)
                                                  .call(
                                                      r ->
                                                          audit.append(
                                                              tx,
                                                              org.teekms.kms.audit.AuditDraft
                                                                  .allowed(
                                                                      "ROOT_CUSTODY",
                                                                      null,
                                                                      org.teekms.kms.audit
                                                                          .AuditDetail.json(
                                                                          java.util.Map.of(
                                                                              "step",
                                                                              "backup-staged",
                                                                              "generation",
                                                                              generation,
                                                                              "threshold",
                                                                              r.threshold(),
                                                                              "custodians",
                                                                              r.custodianIds()
                                                                                  .size()))))))
                                      .ifNoItem()
                                      .after(stepTimeout)
                                      .fail()
                                      .invoke(
                                          r ->
                                              LOG.infof(
                                                  "root generation %d: %d-of-%d backup staged",
                                                  generation,
                                                  r.threshold(),
                                                  r.custodianIds().size()))
                                      .replaceWithVoid();
                          // The deadline counts from the end of staging (the lambda runs then), as
                          // startup always did.
                          return staged.chain(
                              () ->
                                  awaitPublication(
                                      sessions,
                                      audit,
                                      generation,
                                      System.nanoTime() + wait.toNanos(),
                                      wait,
                                      poll,
                                      stepTimeout,
                                      false));
                        }));
  }

  /**
   * One publication check of {@link #backUpCurrent}, then (not yet published, before {@code
   * deadlineNanos}) the next one after {@code poll}; {@code wait} only names the limit in the
   * failure.
   */
  private Uni<Publication> awaitPublication(
      StateSessions sessions,
      org.teekms.kms.audit.AuditLog audit,
      int generation,
      long deadlineNanos,
      java.time.Duration wait,
      java.time.Duration poll,
      java.time.Duration stepTimeout,
      boolean told) {
    return sessions
        .inTransaction(
            tx ->
                revealAndCheck(tx, generation)
                    .call(
                        pub ->
                            pub == Publication.PUBLISHED
                                ? audit.append(
                                    tx,
                                    org.teekms.kms.audit.AuditDraft.allowed(
                                        "ROOT_CUSTODY",
                                        null,
                                        org.teekms.kms.audit.AuditDetail.json(
                                            java.util.Map.of(
                                                "step",
                                                "backup-published",
                                                "generation",
                                                generation))))
                                : Uni.createFrom().voidItem()))
        .ifNoItem()
        .after(stepTimeout)
        .fail()
        .chain(
            p -> {
              if (p == Publication.PUBLISHED) {
                LOG.infof("root generation %d: backup published on chain and checked", generation);
                return Uni.createFrom().item(p);
              }
              String publish =
                  "teekms gov publish-backup --store "
                      + settings.store()
                      + " --generation "
                      + generation;
              if (!settings.requirePublished()) {
                LOG.warnf(
                    "root generation %d: backup stored but not yet published on chain (%s); serving anyway "
                        + "(teekms.custody.require-published=false)",
                    generation, publish);
                return Uni.createFrom().item(p);
              }
              if (System.nanoTime() > deadlineNanos) {
                return Uni.createFrom()
                    .failure(
                        new IllegalStateException(
                            "the backup of root generation "
                                + generation
                                + " was not published on chain within "
                                + wait
                                + " (teekms.custody.startup-publication-timeout): "
                                + "publish it with "
                                + publish
                                + " and restart; refusing to serve a root that has no published backup "
                                + "(teekms.custody.require-published)"));
              }
              if (!told) {
                LOG.warnf(
                    "root generation %d: waiting for its backup to be published on chain: %s",
                    generation, publish);
              }
              Uni<Boolean> pause =
                  poll.isZero() || poll.isNegative()
                      ? Uni.createFrom().item(true)
                      : Uni.createFrom().item(true).onItem().delayIt().by(poll);
              return pause.chain(
                  () ->
                      awaitPublication(
                          sessions,
                          audit,
                          generation,
                          deadlineNanos,
                          wait,
                          poll,
                          stepTimeout,
                          true));
            });
  }

  /** The backup state of a generation: empty (none), STAGED or PUBLISHED. */
  public Uni<Optional<String>> state(StateSessions sessions, int generation) {
    return sessions.read(session -> find(session, generation).map(s -> s.map(Stored::state)));
  }
}
