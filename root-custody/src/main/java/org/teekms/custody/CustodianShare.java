package org.teekms.custody;

import java.security.SecureRandom;
import java.util.List;

/**
 * What a custodian does with its envelope (docs/root-custody.md §5–6): check it when the backup is
 * published, and re-encrypt it to a recovering node's attested key once a recovery is authorized.
 * The authorization and attestation checks belong to the caller (they need the chain and the RA-TLS
 * verifier); this class does the cryptography.
 */
public final class CustodianShare {

  private CustodianShare() {}

  /**
   * Checks the custodian's own envelope, in order: its SHA-256 is the digest published on chain
   * (IDENTITY_MISMATCH: the store served other bytes), it opens with the custodian's key under the
   * backup context, and the share verifies against the published commitments (IDENTITY_MISMATCH
   * naming the index). Returns the opened share (the caller destroys it).
   */
  public static Share open(
      RecipientKeyPair custodian,
      long generation,
      int index,
      Commitments commitments,
      byte[] envelope,
      byte[] publishedDigest)
      throws CustodyException {
    if (!RootBackup.digestMatches(envelope, publishedDigest)) {
      throw new CustodyException(
          CustodyException.Reason.IDENTITY_MISMATCH,
          "share envelope " + index + " does not have the digest published on chain",
          List.of(index));
    }
    Share share =
        ShareEnvelope.open(
            custodian, EnvelopeContext.backup(generation, index, commitments.digest()), envelope);
    if (!commitments.verify(share)) {
      share.destroy();
      throw new CustodyException(
          CustodyException.Reason.IDENTITY_MISMATCH,
          "share " + index + " does not verify against the published commitments",
          List.of(index));
    }
    return share;
  }

  /** {@link #open} then seals the share to {@code node} for recovery request {@code requestId}. */
  public static byte[] reencrypt(
      RecipientKeyPair custodian,
      long generation,
      int index,
      Commitments commitments,
      byte[] envelope,
      byte[] publishedDigest,
      RecipientKey node,
      byte[] requestId,
      SecureRandom random)
      throws CustodyException {
    try (Share share = open(custodian, generation, index, commitments, envelope, publishedDigest)) {
      return ShareEnvelope.seal(
          node,
          EnvelopeContext.recovery(generation, index, commitments.digest(), requestId),
          share,
          random);
    }
  }
}
