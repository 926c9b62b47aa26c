package org.teekms.verifier.audit;

import java.util.List;
import org.teekms.crypto.Bytes;

/**
 * The auditor's verdict on an audit chain it recomputed: valid with the head it reached (seq and
 * hash: save them and pass them to the next check), or the first bad seq and what is wrong there.
 *
 * @param entriesChecked entries that verified (when valid, also the head's seq)
 * @param headHash hash of the last entry that verified (32 zero bytes for none)
 * @param checkpoints the checkpoints passed and the seq where (0 = the empty chain's head)
 */
public record AuditChainReport(
    boolean valid,
    long entriesChecked,
    Bytes headHash,
    long firstBadSeq,
    String problem,
    List<Passed> checkpoints) {

  public AuditChainReport {
    checkpoints = List.copyOf(checkpoints);
  }

  public record Passed(AuditCheckpoint checkpoint, long atSeq) {}
}
