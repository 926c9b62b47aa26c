package org.teekms.custody;

import java.math.BigInteger;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;

/**
 * The two curves custody uses, through BouncyCastle only: secp256k1 for the Shamir field (its group
 * order n) and the Feldman commitments, P-256 for the share envelopes (the curve of RA-TLS keys and
 * of common HSMs).
 */
final class Group {
  static final X9ECParameters SECP256K1 = CustomNamedCurves.getByName("secp256k1");
  static final X9ECParameters P256 = CustomNamedCurves.getByName("secp256r1");

  /** The Shamir field: the secp256k1 group order. */
  static final BigInteger N = SECP256K1.getN();

  private Group() {}

  /** k·G on secp256k1, normalized. */
  static ECPoint mulG(BigInteger k) {
    return new FixedPointCombMultiplier().multiply(SECP256K1.getG(), k).normalize();
  }

  /**
   * A compressed (33-byte) secp256k1 point that is on the curve and not infinity; anything else is
   * MALFORMED naming {@code field}.
   */
  static ECPoint decodeCompressed(X9ECParameters curve, byte[] encoded, String field)
      throws CustodyException {
    return decode(curve, encoded, 33, field);
  }

  /** An uncompressed (65-byte, 0x04 ‖ x ‖ y) point that is on the curve and not infinity. */
  static ECPoint decodeUncompressed(X9ECParameters curve, byte[] encoded, String field)
      throws CustodyException {
    return decode(curve, encoded, 65, field);
  }

  private static ECPoint decode(X9ECParameters curve, byte[] encoded, int length, String field)
      throws CustodyException {
    if (encoded.length != length) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          field + " must be " + length + " bytes, got " + encoded.length);
    }
    byte prefix = encoded[0];
    if (length == 33 ? prefix != 2 && prefix != 3 : prefix != 4) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          field + " has point prefix 0x" + String.format("%02x", prefix & 0xff));
    }
    ECPoint p;
    try {
      p = curve.getCurve().decodePoint(encoded);
    } catch (RuntimeException e) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, field + " is not a point on the curve");
    }
    if (p.isInfinity() || !p.isValid()) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED, field + " is not a valid curve point");
    }
    return p.normalize();
  }

  /** Big-endian, left-padded to 32 bytes; {@code v} must be in [0, 2^256). */
  static byte[] to32(BigInteger v) {
    byte[] raw = v.toByteArray();
    byte[] out = new byte[32];
    int copy = Math.min(raw.length, 32);
    System.arraycopy(raw, raw.length - copy, out, 32 - copy, copy);
    return out;
  }

  static byte[] sha256(byte[]... parts) {
    org.bouncycastle.crypto.digests.SHA256Digest d =
        new org.bouncycastle.crypto.digests.SHA256Digest();
    for (byte[] p : parts) d.update(p, 0, p.length);
    byte[] out = new byte[32];
    d.doFinal(out, 0);
    return out;
  }
}
