package org.teekms.verifier.audit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.teekms.crypto.Bytes;

/**
 * Recomputes the audit hash chain on the auditor's side (docs/audit-log.md, "Verifying"), entry by
 * entry as they are fetched, so a KMS that edits, deletes or reorders entries is caught without
 * believing its own verdict. Feed entries in the order served, starting at seq 1; each {@link
 * #accept} checks, in order (the first failure is the reason and stops the walk):
 *
 * <ol>
 *   <li>the entry is well-formed: 32-byte {@code prev_hash} and {@code entry_hash}, a 0- or 20-byte
 *       app id;
 *   <li>{@code seq} is exactly the previous one + 1 (else an entry was deleted or moved);
 *   <li>{@code prev_hash} is the hash the walk reached (else entries were reordered, inserted or
 *       replaced);
 *   <li>the recomputed entry hash equals the stored one (else the entry was edited);
 *   <li>where a checkpoint names this seq, the entry's hash is the checkpoint's (else history was
 *       rewritten).
 * </ol>
 *
 * <p>{@link #finish} then requires every checkpoint to have been passed: one beyond the end means
 * the tail was cut (or the history rewritten shorter), a saved head without position that never
 * occurred means a rewritten history. Not thread-safe; one walk per instance.
 */
public final class AuditChainWalker {

  private final List<AuditCheckpoint> checkpoints;
  private final Map<AuditCheckpoint, Long> passed = new LinkedHashMap<>();
  private long expected = 1;
  private Bytes running = AuditChainHash.GENESIS;
  private AuditChainReport broken;

  public AuditChainWalker(List<AuditCheckpoint> checkpoints) {
    this.checkpoints = List.copyOf(checkpoints);
    for (AuditCheckpoint c : this.checkpoints) {
      if (c.hash().equals(AuditChainHash.GENESIS)
          && (c.seq() == 0 || c.seq() == AuditCheckpoint.ANY_SEQ)) {
        passed.put(c, 0L);
      }
    }
  }

  /** Checks the next entry; false once the chain is broken (then further entries are ignored). */
  public boolean accept(AuditRecord e) {
    if (broken != null) {
      return false;
    }
    if (e.prevHash().length() != AuditChainHash.LENGTH
        || e.entryHash().length() != AuditChainHash.LENGTH
        || (e.appId().length() != 0 && e.appId().length() != 20)) {
      return fail(e.seq(), "malformed entry (hash or app id length)");
    }
    if (e.seq() != expected) {
      return fail(
          expected,
          "sequence gap: expected seq "
              + expected
              + ", found "
              + e.seq()
              + " (entry deleted or moved?)");
    }
    if (!e.prevHash().equals(running)) {
      return fail(
          e.seq(),
          "prev_hash does not match the previous entry's hash (entries reordered or replaced?)");
    }
    if (!AuditChainHash.of(e).equals(e.entryHash())) {
      return fail(e.seq(), "entry_hash does not match the entry's content (entry edited?)");
    }
    for (AuditCheckpoint c : checkpoints) {
      if (passed.containsKey(c)) {
        continue;
      }
      if (c.seq() == e.seq()) {
        if (!c.hash().equals(e.entryHash())) {
          return fail(
              e.seq(),
              "entry "
                  + e.seq()
                  + " has hash "
                  + e.entryHash().hex()
                  + " but the "
                  + c.source()
                  + " recorded "
                  + c.hash().hex()
                  + " (history rewritten)");
        }
        passed.put(c, e.seq());
      } else if (c.seq() == AuditCheckpoint.ANY_SEQ && c.hash().equals(e.entryHash())) {
        passed.put(c, e.seq());
      }
    }
    running = e.entryHash();
    expected++;
    return true;
  }

  /**
   * The verdict once every entry was fed: the first break, or a checkpoint the chain never passed,
   * or valid.
   */
  public AuditChainReport finish() {
    if (broken != null) {
      return broken;
    }
    long head = expected - 1;
    for (AuditCheckpoint c : checkpoints) {
      if (passed.containsKey(c)) {
        continue;
      }
      if (c.seq() != AuditCheckpoint.ANY_SEQ) {
        fail(
            head + 1,
            "the chain ends at seq "
                + head
                + " but the "
                + c.source()
                + " recorded "
                + c.seq()
                + " entries (tail deleted or history rewritten)");
      } else {
        fail(
            head + 1,
            "the "
                + c.source()
                + " "
                + c.hash().hex()
                + " is not in the chain (history rewritten, or"
                + " another KMS)");
      }
      return broken;
    }
    List<AuditChainReport.Passed> ok = new ArrayList<>();
    passed.forEach((c, seq) -> ok.add(new AuditChainReport.Passed(c, seq)));
    return new AuditChainReport(true, head, running, 0, "", ok);
  }

  private boolean fail(long seq, String problem) {
    broken = new AuditChainReport(false, expected - 1, running, seq, problem, List.of());
    return false;
  }
}
