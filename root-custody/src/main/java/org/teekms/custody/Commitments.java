package org.teekms.custody;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.math.ec.ECPoint;

/**
 * Feldman commitments to a sharing polynomial f(x) = a_0 + a_1 x + … + a_{t-1} x^{t-1} over Z_n (n
 * = the secp256k1 group order): C_j = a_j·G. C_0 = s·G commits to the secret. A share (i, y) is
 * valid iff y·G = Σ_j i^j·C_j.
 *
 * <p>Encoding (docs/root-custody.md §3.3): {@code 0x01 ‖ t (1 byte, 1..255) ‖ C_0 ‖ … ‖ C_{t-1}}
 * with each point SEC1-compressed (33 bytes); the point at infinity (a coefficient a_j = 0, j ≥ 1,
 * probability 2^-256 each, kept so that the coefficients stay exactly uniform) is 33 zero bytes,
 * never allowed for C_0. Public; its SHA-256 ({@link #digest()}) is what goes on chain.
 */
public final class Commitments {
  static final byte VERSION = 1;
  private static final byte[] INFINITY = new byte[33];
  public static final int MAX_THRESHOLD = 255;

  private final List<ECPoint> points;
  private final byte[] encoded;

  private Commitments(List<ECPoint> points) {
    this.points = List.copyOf(points);
    ByteArrayOutputStream out = new ByteArrayOutputStream(2 + 33 * points.size());
    out.write(VERSION);
    out.write(points.size());
    for (ECPoint p : points) out.writeBytes(encodePoint(p));
    this.encoded = out.toByteArray();
  }

  /** Commitments to the coefficients {@code a_0..a_{t-1}} (package use: the splitter). */
  static Commitments ofCoefficients(List<BigInteger> coefficients) {
    List<ECPoint> pts = new ArrayList<>(coefficients.size());
    for (BigInteger a : coefficients) {
      pts.add(a.signum() == 0 ? Group.SECP256K1.getCurve().getInfinity() : Group.mulG(a));
    }
    return new Commitments(pts);
  }

  /** The threshold t (number of coefficients). */
  public int threshold() {
    return points.size();
  }

  /** C_0 = s·G, compressed: the public identity of the shared secret. */
  public byte[] secretCommitment() {
    return points.get(0).getEncoded(true);
  }

  /** The canonical encoding. */
  public byte[] encode() {
    return encoded.clone();
  }

  /** SHA-256 of the encoding: what is published on chain. */
  public byte[] digest() {
    return Group.sha256(encoded);
  }

  /** Is {@code share} a point of the committed polynomial? Constant work in the share value. */
  public boolean verify(Share share) {
    return expectedSharePoint(share.index()).equals(Group.mulG(share.scalar()));
  }

  /** Σ_j i^j·C_j: the public point y_i·G a valid share with index i has. */
  ECPoint expectedSharePoint(int index) {
    BigInteger x = BigInteger.valueOf(index);
    BigInteger[] ks = new BigInteger[points.size()];
    BigInteger pow = BigInteger.ONE;
    for (int j = 0; j < ks.length; j++) {
      ks[j] = pow;
      pow = pow.multiply(x).mod(Group.N);
    }
    ECPoint acc = points.get(0).getCurve().getInfinity();
    for (int j = 0; j < ks.length; j++) acc = acc.add(points.get(j).multiply(ks[j]));
    return acc.normalize();
  }

  private static byte[] encodePoint(ECPoint p) {
    return p.isInfinity() ? INFINITY.clone() : p.getEncoded(true);
  }

  boolean matchesSecret(BigInteger s) {
    return points.get(0).equals(Group.mulG(s));
  }

  /** Decodes {@link #encode}; any other input is MALFORMED with a one-line reason. */
  public static Commitments decode(byte[] encoded) throws CustodyException {
    if (encoded == null || encoded.length < 2) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, "commitments encoding is truncated");
    }
    if (encoded[0] != VERSION) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "commitments encoding version " + (encoded[0] & 0xff) + " is not " + VERSION);
    }
    int t = encoded[1] & 0xff;
    if (t < 1) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, "commitments threshold must be >= 1");
    }
    if (encoded.length != 2 + 33 * t) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "commitments with threshold "
              + t
              + " must be "
              + (2 + 33 * t)
              + " bytes, got "
              + encoded.length);
    }
    List<ECPoint> pts = new ArrayList<>(t);
    for (int j = 0; j < t; j++) {
      byte[] p = Arrays.copyOfRange(encoded, 2 + 33 * j, 35 + 33 * j);
      if (j > 0 && Arrays.equals(p, INFINITY)) {
        pts.add(Group.SECP256K1.getCurve().getInfinity());
      } else {
        pts.add(Group.decodeCompressed(Group.SECP256K1, p, "commitment C_" + j));
      }
    }
    return new Commitments(pts);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Commitments c && Arrays.equals(encoded, c.encoded);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(encoded);
  }

  @Override
  public String toString() {
    return "Commitments[t=" + threshold() + ", digest " + HexFormat.of().formatHex(digest()) + "]";
  }
}
