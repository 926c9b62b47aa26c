package org.teekms.custody;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;

/**
 * The recovering node's side (docs/root-custody.md §6): opens the re-encrypted shares with its
 * attested key, verifies each against the published commitments, reconstructs the root in memory,
 * and accepts it only if it is the generation's published identity.
 */
public final class RootRecovery {

  private RootRecovery() {}

  /**
   * Recovers root generation {@code generation}. Checks, in order (the first failure is the
   * reason):
   *
   * <ol>
   *   <li>each envelope opens under the recovery context (generation, its index, the commitments'
   *       digest, {@code requestId}, this node's key); those that do not are bad indices;
   *   <li>{@link Shamir#reconstruct}: no duplicate index, at least t shares verify against the
   *       commitments (NOT_ENOUGH_SHARES naming every bad index), s·G = C_0;
   *   <li>the KMS root public key derived from the secret (docs/key-derivation.md) equals {@code
   *       publishedRootPublicKey}, the registry's {@code kmsIdentity(generation).rootPublicKeys}
   *       (IDENTITY_MISMATCH).
   * </ol>
   *
   * Bad shares that did not prevent recovery are in {@link Shamir.Recovered#badIndices()}.
   */
  public static Shamir.Recovered recover(
      long generation,
      Commitments commitments,
      byte[] requestId,
      RecipientKeyPair node,
      Map<Integer, byte[]> envelopesByIndex,
      byte[] publishedRootPublicKey)
      throws CustodyException {
    List<Share> shares = new ArrayList<>();
    TreeSet<Integer> bad = new TreeSet<>();
    try {
      for (Map.Entry<Integer, byte[]> e : envelopesByIndex.entrySet()) {
        int index = e.getKey();
        if (index < 1 || index > Share.MAX_INDEX) {
          throw new CustodyException(
              CustodyException.Reason.MALFORMED, "share index " + index + " is out of range");
        }
        try {
          shares.add(
              ShareEnvelope.open(
                  node,
                  EnvelopeContext.recovery(generation, index, commitments.digest(), requestId),
                  e.getValue()));
        } catch (CustodyException rejected) {
          bad.add(index);
        }
      }
      Shamir.Recovered recovered;
      try {
        recovered = Shamir.reconstruct(commitments, shares);
      } catch (CustodyException e) {
        bad.addAll(e.badIndices());
        throw new CustodyException(
            e.reason(),
            e.reason() == CustodyException.Reason.NOT_ENOUGH_SHARES
                ? shares.size()
                    - e.badIndices().size()
                    + " of "
                    + envelopesByIndex.size()
                    + " shares valid, "
                    + commitments.threshold()
                    + " needed; bad share indices "
                    + bad
                : e.getMessage(),
            List.copyOf(bad));
      }
      bad.addAll(recovered.badIndices());
      if (!MessageDigest.isEqual(
          rootPublicKey(generation, recovered.secret()), publishedRootPublicKey)) {
        recovered.close();
        throw new CustodyException(
            CustodyException.Reason.IDENTITY_MISMATCH,
            "the recovered root is not generation "
                + generation
                + "'s published identity (KMS root public key)",
            List.copyOf(bad));
      }
      return new Shamir.Recovered(recovered.secret(), List.copyOf(bad));
    } finally {
      shares.forEach(Share::destroy);
    }
  }

  /**
   * The KMS root public key (uncompressed secp256k1) of a generation's root secret, as the KMS
   * publishes it.
   */
  public static byte[] rootPublicKey(long generation, SecretBytes root) {
    byte[] copy = root.toByteArray(InsecureSecretAccess.get());
    try (RootKeyring keyring =
            new RootKeyring(
                Math.toIntExact(generation), SecretBytes.copyOf(copy, InsecureSecretAccess.get()));
        DerivedKey key = new KmsKeyDeriver(keyring).kmsRootKey(Math.toIntExact(generation))) {
      return key.publicKey();
    } finally {
      java.util.Arrays.fill(copy, (byte) 0);
    }
  }
}
