package org.teekms.kms.audit;

import java.util.Optional;

/**
 * Result of recomputing the audit chain: valid, how many entries were checked and the head reached, or the first
 * entry where the chain breaks and what is wrong there.
 */
public record ChainVerification(boolean valid, long entriesChecked, byte[] headHash, long firstBadSeq, String problem) {

  public ChainVerification {
    headHash = headHash.clone();
  }

  static ChainVerification ok(long checked, byte[] head) {
    return new ChainVerification(true, checked, head, 0, "");
  }

  static ChainVerification broken(long checked, byte[] head, long badSeq, String problem) {
    return new ChainVerification(false, checked, head, badSeq, problem);
  }

  @Override
  public byte[] headHash() {
    return headHash.clone();
  }

  public Optional<String> failure() {
    return valid ? Optional.empty() : Optional.of("seq " + firstBadSeq + ": " + problem);
  }
}
