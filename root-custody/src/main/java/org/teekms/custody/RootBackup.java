package org.teekms.custody;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.teekms.crypto.Bytes;
import org.teekms.keys.SecretBytes;

/**
 * The threshold backup of one root generation (docs/root-custody.md §5): the root secret split
 * t-of-n, share i sealed to custodian i (in the order of the custodian list, index = position + 1).
 * Everything in a backup is public: the commitments and their digest, the envelopes and their
 * digests go to the share store and on chain.
 */
public record RootBackup(long generation, Commitments commitments, List<SealedShare> shares) {

  /** One custodian's envelope. */
  public record SealedShare(int index, RecipientKey custodian, Bytes envelope) {
    public byte[] digest() {
      return ShareEnvelope.digest(envelope.toByteArray());
    }
  }

  public RootBackup {
    shares = List.copyOf(shares);
  }

  /**
   * Splits {@code root} (not consumed: the caller still owns it) into one share per custodian,
   * {@code threshold} of which reconstruct it, and seals each share to its custodian. The shares
   * exist in memory only until sealed. INVALID_PARAMETERS when the threshold or the custodian list
   * does not fit, or custodians repeat.
   */
  public static RootBackup create(
      long generation,
      SecretBytes root,
      int threshold,
      List<RecipientKey> custodians,
      SecureRandom random)
      throws CustodyException {
    if (custodians.stream().distinct().count() != custodians.size()) {
      throw new CustodyException(
          CustodyException.Reason.INVALID_PARAMETERS, "a custodian key appears twice");
    }
    if (generation < 1 || generation > 0xffffffffL) {
      throw new CustodyException(
          CustodyException.Reason.INVALID_PARAMETERS,
          "generation must be 1..2^32-1, got " + generation);
    }
    try (Shamir.Split split = Shamir.split(root, threshold, custodians.size(), random)) {
      byte[] digest = split.commitments().digest();
      List<SealedShare> sealed = new ArrayList<>(custodians.size());
      for (Share share : split.shares()) {
        RecipientKey custodian = custodians.get(share.index() - 1);
        sealed.add(
            new SealedShare(
                share.index(),
                custodian,
                Bytes.copyOf(
                    ShareEnvelope.seal(
                        custodian,
                        EnvelopeContext.backup(generation, share.index(), digest),
                        share,
                        random))));
      }
      return new RootBackup(generation, split.commitments(), sealed);
    }
  }

  /** The envelope digests in index order (what is published on chain). */
  public List<byte[]> envelopeDigests() {
    return shares.stream().map(SealedShare::digest).toList();
  }

  /** Does {@code envelope} have the digest published for it? Constant-time. */
  static boolean digestMatches(byte[] envelope, byte[] publishedDigest) {
    return MessageDigest.isEqual(ShareEnvelope.digest(envelope), publishedDigest);
  }
}
