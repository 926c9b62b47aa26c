package org.teekms.kms.audit;

import java.util.Optional;
import org.teekms.crypto.Bytes;

/**
 * Result of recomputing the audit chain: valid, how many entries were checked and the head reached,
 * or the first entry where the chain breaks and what is wrong there. Compares by value.
 */
public record ChainVerification(
    boolean valid, long entriesChecked, Bytes headHash, long firstBadSeq, String problem) {

  static ChainVerification ok(long checked, byte[] head) {
    return new ChainVerification(true, checked, Bytes.copyOf(head), 0, "");
  }

  static ChainVerification broken(long checked, byte[] head, long badSeq, String problem) {
    return new ChainVerification(false, checked, Bytes.copyOf(head), badSeq, problem);
  }

  public Optional<String> failure() {
    return valid ? Optional.empty() : Optional.of("seq " + firstBadSeq + ": " + problem);
  }
}
