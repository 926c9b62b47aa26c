package org.teekms.keys;

import java.math.BigInteger;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.teekms.crypto.Digests;

/**
 * Plain ECDSA over a 32-byte digest for both Weierstrass curves, r ‖ s encoded (package-internal).
 */
final class EcdsaRs {
  private EcdsaRs() {}

  /**
   * RFC 6979 (HMAC-SHA-256) ECDSA; s as computed (no low-s rule; secp256k1 signs through {@link
   * Secp256k1}).
   */
  static BigInteger[] sign(Curves curve, BigInteger d, byte[] digest) {
    ECDSASigner signer = new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest()));
    signer.init(true, new ECPrivateKeyParameters(d, domain(curve)));
    return signer.generateSignature(digest);
  }

  /**
   * Any s in [1, n-1] verifies (as JCA and dstack's k256 verify); false for any malformed input.
   */
  static boolean verify(Curves curve, byte[] publicKey, byte[] digest, byte[] rs) {
    if (publicKey == null
        || digest == null
        || rs == null
        || digest.length != 32
        || rs.length != 64) {
      return false;
    }
    try {
      ECDSASigner v = new ECDSASigner();
      v.init(false, new ECPublicKeyParameters(curve.decodePoint(publicKey), domain(curve)));
      return v.verifySignature(
          digest,
          new BigInteger(1, Arrays.copyOfRange(rs, 0, 32)),
          new BigInteger(1, Arrays.copyOfRange(rs, 32, 64)));
    } catch (RuntimeException malformed) {
      return false;
    }
  }

  static byte[] encode(BigInteger r, BigInteger s) {
    byte[] out = new byte[64];
    System.arraycopy(Curves.to32(r), 0, out, 0, 32);
    System.arraycopy(Curves.to32(s), 0, out, 32, 32);
    return out;
  }

  static byte[] sha256(byte[] message) {
    return Digests.sha256(message);
  }

  private static ECDomainParameters domain(Curves curve) {
    return new ECDomainParameters(curve.params);
  }
}
