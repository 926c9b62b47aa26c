package org.teekms.verifier.audit;

import org.teekms.crypto.Bytes;

/**
 * A head of the audit chain recorded outside the KMS: by an auditor earlier ({@code --since-head},
 * position unknown) or anchored on chain (entry count known). Today's chain must pass through it,
 * or history was rewritten.
 *
 * @param source what recorded it, for messages ("saved head", "on-chain anchor at block 42")
 * @param seq the sequence number of the entry whose hash it is (0 = before the first entry), or
 *     {@link #ANY_SEQ}
 * @param hash that entry's hash ({@link AuditChainHash#GENESIS} for seq 0)
 */
public record AuditCheckpoint(String source, long seq, Bytes hash) {

  public static final long ANY_SEQ = -1;

  public AuditCheckpoint {
    if (source == null || hash == null || hash.length() != AuditChainHash.LENGTH || seq < ANY_SEQ) {
      throw new IllegalArgumentException(
          "a checkpoint needs a source, a 32-byte hash and a seq >= 0 (or ANY_SEQ)");
    }
    if (seq == 0 && !hash.equals(AuditChainHash.GENESIS)) {
      throw new IllegalArgumentException("the head of an empty chain is 32 zero bytes");
    }
  }

  /** A head hash saved earlier without its position. */
  public static AuditCheckpoint savedHead(Bytes hash) {
    return new AuditCheckpoint("saved head", ANY_SEQ, hash);
  }
}
