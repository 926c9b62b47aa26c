package org.teekms.kms.audit;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.util.HexFormat;
import java.util.function.Supplier;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KmsKeyDeriver;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.ECKeyPair;

/**
 * Anchors the audit chain's head on chain (docs/audit-log.md, "Anchoring"), in this order; the
 * first step that stops is the outcome:
 *
 * <ol>
 *   <li>recompute the whole chain ({@link AuditLog#verify}): a broken chain is never anchored
 *       ({@code REFUSED_BROKEN});
 *   <li>an empty chain has nothing to anchor ({@code NOTHING});
 *   <li>read the latest anchor: unreadable ({@code CHAIN_UNAVAILABLE}); already at this count
 *       ({@code UP_TO_DATE}); anchored beyond this chain ({@code REFUSED_BEHIND}: the database was
 *       rolled back or rewritten, say so loudly);
 *   <li>send anchorAuditHead(head, count) from the current generation's {@code kms-audit-anchor}
 *       account, a key derived from the root secret inside the TEE: neither the host nor the
 *       database can anchor ({@code ANCHORED} or {@code SEND_FAILED}, e.g. another replica anchored
 *       first, or the account is not the registry's anchorer).
 * </ol>
 */
public final class AuditAnchorWorker {

  public enum Outcome {
    ANCHORED,
    NOTHING,
    UP_TO_DATE,
    REFUSED_BROKEN,
    REFUSED_BEHIND,
    CHAIN_UNAVAILABLE,
    SEND_FAILED
  }

  public record Result(Outcome outcome, long entryCount, String detail) {}

  private final AuditLog audit;
  private final AuditAnchorPort chain;
  private final Supplier<Uni<KmsKeyDeriver>> deriver;
  private final java.time.Duration wait;

  /**
   * @param deriver the current keyring's deriver (read from the database: a Uni, bounded by its own
   *     time limit)
   * @param wait the limit on the chain recomputation
   */
  public AuditAnchorWorker(
      AuditLog audit,
      AuditAnchorPort chain,
      Supplier<Uni<KmsKeyDeriver>> deriver,
      java.time.Duration wait) {
    this.audit = audit;
    this.chain = chain;
    this.deriver = deriver;
    this.wait = wait;
  }

  /**
   * One anchoring round. The database steps (recomputing the chain, reading the keyring) hold no
   * thread; the chain steps (RPC reads, signing and sending) run on Mutiny's worker pool, never on
   * an event loop.
   */
  public Uni<Result> anchorOnce() {
    return audit
        .verify()
        .ifNoItem()
        .after(wait)
        .fail()
        .emitOn(Infrastructure.getDefaultWorkerPool())
        .chain(
            v -> {
              Result stop = check(v);
              if (stop != null) {
                return Uni.createFrom().item(stop);
              }
              byte[] head = v.headHash().toByteArray();
              return deriver
                  .get()
                  .emitOn(Infrastructure.getDefaultWorkerPool())
                  .map(d -> send(d, head, v.entriesChecked()));
            });
  }

  /**
   * Steps 1 to 3: the outcome when the round stops before sending, else null. Blocking (chain
   * read).
   */
  private Result check(ChainVerification v) {
    if (!v.valid()) {
      return new Result(
          Outcome.REFUSED_BROKEN,
          v.entriesChecked(),
          "the audit chain does not verify: " + v.failure().orElse(""));
    }
    long count = v.entriesChecked();
    byte[] head = v.headHash().toByteArray();
    if (count == 0) {
      return new Result(Outcome.NOTHING, 0, "the audit log is empty");
    }
    AuditAnchorPort.Latest latest = chain.latest();
    if (latest.failure() != null) {
      return new Result(Outcome.CHAIN_UNAVAILABLE, count, latest.failure());
    }
    if (latest.entryCount() > count) {
      return new Result(
          Outcome.REFUSED_BEHIND,
          count,
          "the chain anchored "
              + latest.entryCount()
              + " entries but this log has "
              + count
              + ": the database was rolled back or rewritten");
    }
    if (latest.entryCount() == count) {
      return latest.head().equalsConstantTime(v.headHash())
          ? new Result(Outcome.UP_TO_DATE, count, "already anchored at block " + latest.atBlock())
          : new Result(
              Outcome.REFUSED_BEHIND,
              count,
              "entry "
                  + count
                  + " has another hash than the one anchored at"
                  + " block "
                  + latest.atBlock()
                  + ": the log was rewritten");
    }
    return null;
  }

  /** Step 4: sends the anchor from the current generation's anchor account. Blocking (chain). */
  private Result send(KmsKeyDeriver d, byte[] head, long count) {
    Credentials anchorer;
    try (DerivedKey key = d.kmsAuditAnchorKey(d.keyring().currentGeneration())) {
      // web3j signs with its own key pair object; it lives for this one transaction only.
      byte[] scalar = key.privateKeyBytes(InsecureSecretAccess.get());
      try {
        anchorer = Credentials.create(ECKeyPair.create(scalar));
      } finally {
        java.util.Arrays.fill(scalar, (byte) 0);
      }
    }
    String failure = chain.anchor(head, count, anchorer);
    return failure == null
        ? new Result(
            Outcome.ANCHORED,
            count,
            "anchored head " + HexFormat.of().formatHex(head) + " after " + count + " entries")
        : new Result(Outcome.SEND_FAILED, count, failure);
  }
}
