package org.teekms.keys;

import java.math.BigInteger;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;

/** The two Weierstrass curves, and the scalar rule d = (c mod (n - 1)) + 1 (docs §5). */
enum Curves {
  SECP256K1("secp256k1"),
  P256("secp256r1");

  final X9ECParameters params;
  final BigInteger n;

  Curves(String name) {
    this.params = CustomNamedCurves.getByName(name);
    this.n = params.getN();
  }

  static Curves of(KeyAlgorithm algorithm) {
    return switch (algorithm) {
      case SECP256K1 -> SECP256K1;
      case P256 -> P256;
      default ->
          throw new IllegalArgumentException(algorithm.label() + " is not a Weierstrass curve");
    };
  }

  /**
   * Wide reduction of the 48-byte OKM into [1, n-1]: statistically uniform (2^-128), never 0 or >=
   * n.
   */
  BigInteger scalarFromOkm(byte[] okm48) {
    if (okm48.length != 48) {
      throw new IllegalArgumentException("scalar derivation needs 48 bytes");
    }
    return new BigInteger(1, okm48).mod(n.subtract(BigInteger.ONE)).add(BigInteger.ONE);
  }

  ECPoint publicPoint(BigInteger d) {
    return new FixedPointCombMultiplier().multiply(params.getG(), d).normalize();
  }

  /** Decodes a SEC1 point (compressed or uncompressed), rejecting anything not on the curve. */
  ECPoint decodePoint(byte[] encoded) {
    ECPoint p = params.getCurve().decodePoint(encoded);
    if (p.isInfinity() || !p.isValid()) {
      throw new IllegalArgumentException("not a valid point");
    }
    return p.normalize();
  }

  static byte[] to32(BigInteger v) {
    byte[] raw = v.toByteArray();
    byte[] out = new byte[32];
    int copy = Math.min(raw.length, 32);
    System.arraycopy(raw, raw.length - copy, out, 32 - copy, copy);
    return out;
  }
}
