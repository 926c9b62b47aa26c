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
import org.bouncycastle.math.ec.ECPoint;

/**
 * ECDSA-P256/SHA-256 verification of raw r‖s signatures with BouncyCastle's lightweight API and its optimised P-256
 * curve (an order of magnitude faster than the JDK's SunEC here). Used for the per-quote signatures.
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
    if (!(key instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256
        || !ec.getParams().getOrder().equals(P256.getN())) {
      throw new IllegalArgumentException("certificate key is not an EC P-256 key");
    }
    byte[] xy = new byte[64];
    putFixed(ec.getW().getAffineX(), xy, 0);
    putFixed(ec.getW().getAffineY(), xy, 32);
    return rawKey(xy);
  }

  static boolean verify(ECPublicKeyParameters key, byte[] message, byte[] rawSignature) {
    if (rawSignature.length != 64) {
      return false;
    }
    SHA256Digest d = new SHA256Digest();
    d.update(message, 0, message.length);
    byte[] hash = new byte[32];
    d.doFinal(hash, 0);
    BigInteger r = new BigInteger(1, Arrays.copyOfRange(rawSignature, 0, 32));
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(rawSignature, 32, 64));
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
