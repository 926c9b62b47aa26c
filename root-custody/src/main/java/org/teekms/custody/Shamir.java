package org.teekms.custody;

import java.math.BigInteger;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

/**
 * Shamir t-of-n sharing over Z_n (n = the secp256k1 group order) with Feldman commitments
 * (docs/root-custody.md §2).
 *
 * <p>The secret is a 32-byte root secret read as a big-endian integer s, which must lie in [1, n-1]
 * (a uniformly random 32-byte string fails this with probability below 2^-127; such a root cannot
 * be backed up and the caller draws another). Share i (1 ≤ i ≤ 255) is (i, f(i)). Java's BigInteger
 * cannot be zeroized: the polynomial's scalars live as short-lived immutable objects on the heap of
 * the TEE (docs §6); every byte array is zeroized.
 */
public final class Shamir {

  private Shamir() {}

  /**
   * The result of a split: the public commitments and the n shares (secret; {@link #close()}
   * destroys them).
   */
  public record Split(Commitments commitments, List<Share> shares) implements AutoCloseable {
    public Split {
      shares = List.copyOf(shares);
    }

    @Override
    public void close() {
      shares.forEach(Share::destroy);
    }
  }

  /**
   * Splits {@code secret} into {@code count} shares, any {@code threshold} of which reconstruct it.
   * Coefficients a_1..a_{t-1} are drawn uniformly from [0, n-1] by rejection sampling of 32-byte
   * big-endian strings from {@code random} (in order a_1 first), which makes the test vectors
   * reproducible from a seeded generator.
   */
  public static Split split(SecretBytes secret, int threshold, int count, SecureRandom random)
      throws CustodyException {
    if (threshold < 1 || threshold > Commitments.MAX_THRESHOLD) {
      throw new CustodyException(
          CustodyException.Reason.INVALID_PARAMETERS,
          "threshold must be 1.." + Commitments.MAX_THRESHOLD + ", got " + threshold);
    }
    if (count < threshold || count > Share.MAX_INDEX) {
      throw new CustodyException(
          CustodyException.Reason.INVALID_PARAMETERS,
          "share count must be " + threshold + ".." + Share.MAX_INDEX + ", got " + count);
    }
    BigInteger s = secretScalar(secret);
    List<BigInteger> coefficients = new ArrayList<>(threshold);
    coefficients.add(s);
    for (int j = 1; j < threshold; j++) coefficients.add(uniformScalar(random));
    List<Share> shares = new ArrayList<>(count);
    for (int i = 1; i <= count; i++) shares.add(Share.ofScalar(i, evaluate(coefficients, i)));
    return new Split(Commitments.ofCoefficients(coefficients), shares);
  }

  /**
   * Can this 32-byte root be shared (1 ≤ s ≤ n − 1, docs/root-custody.md §2)? A KMS that backs its
   * roots up draws again when not (probability below 2^-127).
   */
  public static boolean isShareable(byte[] root32) {
    if (root32.length != 32) return false;
    BigInteger s = new BigInteger(1, root32);
    return s.signum() > 0 && s.compareTo(Group.N) < 0;
  }

  /** The secret as a scalar, refusing anything outside [1, n-1]. */
  static BigInteger secretScalar(SecretBytes secret) throws CustodyException {
    if (secret.length() != 32) {
      throw new CustodyException(
          CustodyException.Reason.INVALID_PARAMETERS,
          "the secret must be 32 bytes, got " + secret.length());
    }
    byte[] b = secret.toByteArray(InsecureSecretAccess.get());
    try {
      BigInteger s = new BigInteger(1, b);
      if (s.signum() == 0 || s.compareTo(Group.N) >= 0) {
        throw new CustodyException(
            CustodyException.Reason.INVALID_PARAMETERS,
            "the secret is not in [1, n-1] of the secp256k1 group order and cannot be shared");
      }
      return s;
    } finally {
      Arrays.fill(b, (byte) 0);
    }
  }

  static BigInteger uniformScalar(SecureRandom random) {
    byte[] b = new byte[32];
    try {
      while (true) {
        random.nextBytes(b);
        BigInteger k = new BigInteger(1, b);
        if (k.compareTo(Group.N) < 0) return k;
      }
    } finally {
      Arrays.fill(b, (byte) 0);
    }
  }

  /** f(x) by Horner's rule, mod n. */
  static BigInteger evaluate(List<BigInteger> coefficients, int x) {
    BigInteger bx = BigInteger.valueOf(x);
    BigInteger acc = BigInteger.ZERO;
    for (int j = coefficients.size() - 1; j >= 0; j--)
      acc = acc.multiply(bx).add(coefficients.get(j)).mod(Group.N);
    return acc;
  }

  /**
   * The outcome of a reconstruction: the secret (the caller destroys it) and the indices of shares
   * found bad.
   */
  public record Recovered(SecretBytes secret, List<Integer> badIndices) implements AutoCloseable {
    public Recovered {
      badIndices = List.copyOf(badIndices);
    }

    @Override
    public void close() {
      secret.destroy();
    }
  }

  /**
   * Reconstructs the secret from shares checked against {@code commitments}. Checks, in order (the
   * first failure is the reason):
   *
   * <ol>
   *   <li>no two shares have the same index (DUPLICATE_INDEX, naming it);
   *   <li>each share verifies against the commitments; those that do not are collected as bad
   *       indices;
   *   <li>at least t shares verified (NOT_ENOUGH_SHARES, with the bad indices);
   *   <li>Lagrange interpolation at 0 of the t verified shares with the smallest indices gives s
   *       with s·G = C_0 (IDENTITY_MISMATCH; cannot happen when step 2 passed, checked anyway).
   * </ol>
   *
   * Bad shares beyond these do not stop a recovery: they are reported in {@link
   * Recovered#badIndices()}.
   */
  public static Recovered reconstruct(Commitments commitments, List<Share> shares)
      throws CustodyException {
    BitSet seen = new BitSet(Share.MAX_INDEX + 1);
    for (Share sh : shares) {
      if (seen.get(sh.index())) {
        throw new CustodyException(
            CustodyException.Reason.DUPLICATE_INDEX,
            "share index " + sh.index() + " appears more than once",
            List.of(sh.index()));
      }
      seen.set(sh.index());
    }
    List<Share> good = new ArrayList<>();
    List<Integer> bad = new ArrayList<>();
    for (Share sh :
        shares.stream().sorted((a, b) -> Integer.compare(a.index(), b.index())).toList()) {
      if (commitments.verify(sh)) good.add(sh);
      else bad.add(sh.index());
    }
    int t = commitments.threshold();
    if (good.size() < t) {
      throw new CustodyException(
          CustodyException.Reason.NOT_ENOUGH_SHARES,
          good.size()
              + " of "
              + shares.size()
              + " shares verified, "
              + t
              + " needed"
              + (bad.isEmpty() ? "" : "; bad share indices " + bad),
          bad);
    }
    BigInteger s = interpolateAtZero(good.subList(0, t));
    if (!commitments.matchesSecret(s)) {
      throw new CustodyException(
          CustodyException.Reason.IDENTITY_MISMATCH,
          "the reconstructed secret does not match commitment C_0",
          bad);
    }
    byte[] b = Group.to32(s);
    try {
      return new Recovered(SecretBytes.copyOf(b, InsecureSecretAccess.get()), bad);
    } finally {
      Arrays.fill(b, (byte) 0);
    }
  }

  /** Σ_i y_i · Π_{j≠i} x_j / (x_j − x_i) mod n. */
  static BigInteger interpolateAtZero(List<Share> shares) {
    BigInteger acc = BigInteger.ZERO;
    for (Share si : shares) {
      BigInteger xi = BigInteger.valueOf(si.index());
      BigInteger num = BigInteger.ONE;
      BigInteger den = BigInteger.ONE;
      for (Share sj : shares) {
        if (sj == si) continue;
        BigInteger xj = BigInteger.valueOf(sj.index());
        num = num.multiply(xj).mod(Group.N);
        den = den.multiply(xj.subtract(xi)).mod(Group.N);
      }
      acc = acc.add(si.scalar().multiply(num).multiply(den.modInverse(Group.N))).mod(Group.N);
    }
    return acc;
  }
}
