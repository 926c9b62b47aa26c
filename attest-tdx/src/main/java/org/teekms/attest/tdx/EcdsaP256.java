package org.teekms.attest.tdx;

import java.math.BigInteger;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.util.Arrays;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;
import org.bouncycastle.math.ec.ECPoint;

/**
 * ECDSA-P256/SHA-256 verification of raw r‖s signatures with BouncyCastle's lightweight API and its
 * optimised P-256 curve (an order of magnitude faster than the JDK's SunEC here). Used for every
 * DCAP signature: quotes, QE reports, collateral documents, and the ECDSA-SHA256 signatures of
 * certificates and CRLs. Keys are decoded once onto the shared {@link #DOMAIN}, whose generator
 * keeps BouncyCastle's precomputed multiples; going through the JCA instead converts a JDK key to a
 * new curve point, and recomputes the generator's table, on every call (≈ 3× the cost of a verify).
 */
final class EcdsaP256 {
  private static final X9ECParameters P256 = CustomNamedCurves.getByName("secp256r1");
  private static final ECDomainParameters DOMAIN =
      new ECDomainParameters(P256.getCurve(), P256.getG(), P256.getN(), P256.getH());

  private EcdsaP256() {}

  /** A public key from the 64-byte x‖y encoding used in quotes; rejects points not on the curve. */
  static ECPublicKeyParameters rawKey(byte[] xy) throws IllegalArgumentException {
    if (xy.length != 64) {
      throw new IllegalArgumentException("P-256 key must be 64 bytes");
    }
    byte[] uncompressed = new byte[65];
    uncompressed[0] = 0x04;
    System.arraycopy(xy, 0, uncompressed, 1, 64);
    ECPoint q = DOMAIN.getCurve().decodePoint(uncompressed); // validates the point
    return new ECPublicKeyParameters(q, DOMAIN);
  }

  /** The P-256 key of a certificate; throws if the key is not an EC P-256 key. */
  static ECPublicKeyParameters certificateKey(PublicKey key) throws IllegalArgumentException {
    if (!(key instanceof ECPublicKey ec)
        || ec.getParams().getCurve().getField().getFieldSize() != 256
        || !ec.getParams().getOrder().equals(P256.getN())) {
      throw new IllegalArgumentException("certificate key is not an EC P-256 key");
    }
    byte[] xy = new byte[64];
    putFixed(ec.getW().getAffineX(), xy, 0);
    putFixed(ec.getW().getAffineY(), xy, 32);
    return rawKey(xy);
  }

  /** Verifies a raw 64-byte r‖s signature (quotes, QE reports, collateral documents). */
  static boolean verify(ECPublicKeyParameters key, byte[] message, byte[] rawSignature) {
    if (rawSignature.length != 64) {
      return false;
    }
    BigInteger r = new BigInteger(1, Arrays.copyOfRange(rawSignature, 0, 32));
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(rawSignature, 32, 64));
    return verify(key, message, r, s);
  }

  /**
   * Verifies a DER {@code SEQUENCE {r INTEGER, s INTEGER}} signature (X.509 certificates and CRLs).
   * Non-canonical DER is rejected, as BouncyCastle's JCA provider does.
   */
  static boolean verifyDer(ECPublicKeyParameters key, byte[] message, byte[] derSignature) {
    BigInteger[] rs;
    try {
      rs = StandardDSAEncoding.INSTANCE.decode(P256.getN(), derSignature);
    } catch (java.io.IOException
        | RuntimeException e) { // malformed DER (BouncyCastle also throws ClassCastException)
      return false;
    }
    return verify(key, message, rs[0], rs[1]);
  }

  private static boolean verify(
      ECPublicKeyParameters key, byte[] message, BigInteger r, BigInteger s) {
    SHA256Digest d = new SHA256Digest();
    d.update(message, 0, message.length);
    byte[] hash = new byte[32];
    d.doFinal(hash, 0);
    ECDSASigner signer = new ECDSASigner();
    signer.init(false, key);
    return signer.verifySignature(hash, r, s);
  }

  private static void putFixed(BigInteger v, byte[] out, int off) {
    byte[] b = v.toByteArray();
    int len = Math.min(b.length, 32);
    System.arraycopy(b, b.length - len, out, off + 32 - len, len);
  }
}
