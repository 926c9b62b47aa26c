package org.teekms.custody;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

class ShamirTest {
  private static final InsecureSecretAccess ACCESS = InsecureSecretAccess.get();

  private static SecretBytes secret(String seed) {
    SeededRandom r = new SeededRandom(seed);
    return SecretBytes.copyOf(Group.to32(Shamir.uniformScalar(r).max(BigInteger.ONE)), ACCESS);
  }

  /** Every subset of {1..n} of size k, as index lists. */
  private static List<List<Integer>> subsets(int n, int k) {
    List<List<Integer>> out = new ArrayList<>();
    for (int mask = 0; mask < 1 << n; mask++) {
      if (Integer.bitCount(mask) != k) continue;
      List<Integer> s = new ArrayList<>();
      for (int i = 0; i < n; i++) if ((mask & 1 << i) != 0) s.add(i + 1);
      out.add(s);
    }
    return out;
  }

  private static List<Share> pick(Shamir.Split split, List<Integer> indices) {
    return indices.stream().map(i -> split.shares().get(i - 1)).toList();
  }

  @Test
  void anyThresholdSubsetReconstructsTheSecret() throws Exception {
    SecretBytes s = secret("any-subset");
    try (Shamir.Split split = Shamir.split(s, 3, 5, new SeededRandom("split"))) {
      List<List<Integer>> all = new ArrayList<>(subsets(5, 3));
      all.addAll(subsets(5, 4));
      all.addAll(subsets(5, 5));
      assertEquals(16, all.size());
      for (List<Integer> subset : all) {
        try (Shamir.Recovered r = Shamir.reconstruct(split.commitments(), pick(split, subset))) {
          assertTrue(r.secret().equalsSecret(s), "subset " + subset);
          assertEquals(List.of(), r.badIndices());
        }
      }
    }
  }

  @Test
  void oneOfOneAndNOfNWork() throws Exception {
    SecretBytes s = secret("edges");
    try (Shamir.Split one = Shamir.split(s, 1, 1, new SeededRandom("a"));
        Shamir.Split all = Shamir.split(s, 4, 4, new SeededRandom("b"))) {
      assertTrue(Shamir.reconstruct(one.commitments(), one.shares()).secret().equalsSecret(s));
      assertTrue(Shamir.reconstruct(all.commitments(), all.shares()).secret().equalsSecret(s));
    }
  }

  @Test
  void fewerThanThresholdSharesAreRefused() throws Exception {
    try (Shamir.Split split = Shamir.split(secret("t-1"), 3, 5, new SeededRandom("split"))) {
      for (List<Integer> subset : subsets(5, 2)) {
        CustodyException e =
            assertThrows(
                CustodyException.class,
                () -> Shamir.reconstruct(split.commitments(), pick(split, subset)));
        assertEquals(CustodyException.Reason.NOT_ENOUGH_SHARES, e.reason());
        assertEquals("2 of 2 shares verified, 3 needed", e.getMessage());
      }
    }
  }

  /**
   * The information-theoretic argument of docs §7, checked: for t-1 shares and ANY candidate secret
   * c there is exactly one polynomial of degree < t through (0, c) and those shares, so the shares
   * are equally consistent with every secret. We build it for many candidates (the real one among
   * them) and check it passes through every share.
   */
  @Test
  void thresholdMinusOneSharesAreConsistentWithEveryCandidateSecret() throws Exception {
    SecretBytes s = secret("secrecy");
    BigInteger real = new BigInteger(1, s.toByteArray(ACCESS));
    try (Shamir.Split split = Shamir.split(s, 4, 6, new SeededRandom("split"))) {
      List<Share> known = pick(split, List.of(2, 3, 6));
      SeededRandom candidates = new SeededRandom("candidates");
      Set<List<BigInteger>> polynomials = new HashSet<>();
      List<BigInteger> cs =
          new ArrayList<>(List.of(real, BigInteger.ONE, Group.N.subtract(BigInteger.ONE)));
      for (int k = 0; k < 20; k++) cs.add(Shamir.uniformScalar(candidates));
      for (BigInteger c : cs) {
        List<BigInteger> coefficients = interpolateCoefficients(c, known);
        assertEquals(4, coefficients.size());
        assertEquals(c, coefficients.get(0));
        for (Share sh : known) {
          assertEquals(
              sh.scalar(), Shamir.evaluate(coefficients, sh.index()), "share " + sh.index());
        }
        assertTrue(polynomials.add(coefficients), "distinct candidates give distinct polynomials");
      }
    }
  }

  /**
   * Coefficients of the unique degree-<(k+1) polynomial through (0, c) and the shares (Lagrange,
   * expanded).
   */
  private static List<BigInteger> interpolateCoefficients(BigInteger c, List<Share> shares) {
    List<BigInteger> xs = new ArrayList<>(List.of(BigInteger.ZERO));
    List<BigInteger> ys = new ArrayList<>(List.of(c));
    for (Share sh : shares) {
      xs.add(BigInteger.valueOf(sh.index()));
      ys.add(sh.scalar());
    }
    int m = xs.size();
    BigInteger[] result = new BigInteger[m];
    java.util.Arrays.fill(result, BigInteger.ZERO);
    for (int i = 0; i < m; i++) {
      BigInteger[] basis = {BigInteger.ONE};
      BigInteger den = BigInteger.ONE;
      for (int j = 0; j < m; j++) {
        if (j == i) continue;
        BigInteger[] next = new BigInteger[basis.length + 1];
        java.util.Arrays.fill(next, BigInteger.ZERO);
        for (int d = 0; d < basis.length; d++) {
          next[d + 1] = next[d + 1].add(basis[d]).mod(Group.N);
          next[d] = next[d].subtract(basis[d].multiply(xs.get(j))).mod(Group.N);
        }
        basis = next;
        den = den.multiply(xs.get(i).subtract(xs.get(j))).mod(Group.N);
      }
      BigInteger scale = ys.get(i).multiply(den.modInverse(Group.N)).mod(Group.N);
      for (int d = 0; d < m; d++) result[d] = result[d].add(basis[d].multiply(scale)).mod(Group.N);
    }
    return List.of(result);
  }

  @Test
  void aTamperedShareIsIdentifiedByIndexAndOutvoted() throws Exception {
    SecretBytes s = secret("tamper");
    try (Shamir.Split split = Shamir.split(s, 3, 5, new SeededRandom("split"))) {
      List<Share> shares = new ArrayList<>(split.shares());
      byte[] v = shares.get(1).encode(ACCESS);
      v[33] ^= 1;
      shares.set(1, Share.decode(v, ACCESS));
      try (Shamir.Recovered r = Shamir.reconstruct(split.commitments(), shares)) {
        assertTrue(r.secret().equalsSecret(s));
        assertEquals(List.of(2), r.badIndices());
      }
      CustodyException e =
          assertThrows(
              CustodyException.class,
              () -> Shamir.reconstruct(split.commitments(), shares.subList(0, 3)));
      assertEquals(CustodyException.Reason.NOT_ENOUGH_SHARES, e.reason());
      assertEquals(List.of(2), e.badIndices());
      assertEquals("2 of 3 shares verified, 3 needed; bad share indices [2]", e.getMessage());
    }
  }

  @Test
  void aShareMovedToAnotherIndexFailsVerification() throws Exception {
    try (Shamir.Split split = Shamir.split(secret("moved"), 2, 3, new SeededRandom("split"))) {
      byte[] v = split.shares().get(0).encode(ACCESS);
      v[1] = 3;
      Share moved = Share.decode(v, ACCESS);
      assertFalse(split.commitments().verify(moved));
      assertTrue(split.commitments().verify(split.shares().get(2)));
    }
  }

  @Test
  void sharesOfAnotherSplitDoNotVerify() throws Exception {
    SecretBytes s = secret("other");
    try (Shamir.Split a = Shamir.split(s, 2, 3, new SeededRandom("a"));
        Shamir.Split b = Shamir.split(s, 2, 3, new SeededRandom("b"))) {
      assertNotEquals(a.commitments(), b.commitments());
      assertArrayEquals(a.commitments().secretCommitment(), b.commitments().secretCommitment());
      CustodyException e =
          assertThrows(
              CustodyException.class, () -> Shamir.reconstruct(a.commitments(), b.shares()));
      assertEquals(List.of(1, 2, 3), e.badIndices());
    }
  }

  @Test
  void duplicateIndicesAreRefused() throws Exception {
    try (Shamir.Split split = Shamir.split(secret("dup"), 2, 3, new SeededRandom("split"))) {
      List<Share> shares =
          List.of(split.shares().get(0), split.shares().get(1), split.shares().get(0));
      CustodyException e =
          assertThrows(
              CustodyException.class, () -> Shamir.reconstruct(split.commitments(), shares));
      assertEquals(CustodyException.Reason.DUPLICATE_INDEX, e.reason());
      assertEquals("share index 1 appears more than once", e.getMessage());
    }
  }

  @Test
  void badParametersAreRefusedWithOneLine() {
    SecretBytes s = secret("params");
    SeededRandom r = new SeededRandom("r");
    assertEquals(
        "threshold must be 1..255, got 0",
        assertThrows(CustodyException.class, () -> Shamir.split(s, 0, 3, r)).getMessage());
    assertEquals(
        "share count must be 3..255, got 2",
        assertThrows(CustodyException.class, () -> Shamir.split(s, 3, 2, r)).getMessage());
    assertEquals(
        "share count must be 2..255, got 256",
        assertThrows(CustodyException.class, () -> Shamir.split(s, 2, 256, r)).getMessage());
    SecretBytes tooBig = SecretBytes.copyOf(Group.to32(Group.N), ACCESS);
    SecretBytes zero = SecretBytes.copyOf(new byte[32], ACCESS);
    SecretBytes shortSecret = SecretBytes.copyOf(new byte[31], ACCESS);
    for (SecretBytes bad : List.of(tooBig, zero)) {
      CustodyException e = assertThrows(CustodyException.class, () -> Shamir.split(bad, 2, 3, r));
      assertEquals(CustodyException.Reason.INVALID_PARAMETERS, e.reason());
      assertEquals(
          "the secret is not in [1, n-1] of the secp256k1 group order and cannot be shared",
          e.getMessage());
    }
    assertEquals(
        "the secret must be 32 bytes, got 31",
        assertThrows(CustodyException.class, () -> Shamir.split(shortSecret, 2, 3, r))
            .getMessage());
  }

  @Test
  void theLargestSecretAndThe255thShareWork() throws Exception {
    SecretBytes s = SecretBytes.copyOf(Group.to32(Group.N.subtract(BigInteger.ONE)), ACCESS);
    try (Shamir.Split split = Shamir.split(s, 2, 255, new SeededRandom("big"))) {
      try (Shamir.Recovered r =
          Shamir.reconstruct(split.commitments(), pick(split, List.of(1, 255)))) {
        assertTrue(r.secret().equalsSecret(s));
      }
    }
  }

  @Test
  void destroyedSharesCannotBeUsed() throws Exception {
    Shamir.Split split = Shamir.split(secret("destroy"), 2, 2, new SeededRandom("split"));
    split.close();
    assertTrue(split.shares().stream().allMatch(Share::isDestroyed));
    assertThrows(
        org.teekms.keys.DestroyedSecretException.class,
        () -> Shamir.reconstruct(split.commitments(), split.shares()));
    assertEquals("Share[index 1, value redacted]", split.shares().get(0).toString());
  }
}
