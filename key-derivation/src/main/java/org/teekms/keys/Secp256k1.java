package org.teekms.keys;

import java.math.BigInteger;
import java.util.Optional;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.bouncycastle.math.ec.ECAlgorithms;
import org.bouncycastle.math.ec.ECPoint;

/**
 * Ethereum-style secp256k1 signing (RFC 6979 nonces, low s, v = 27 + recovery id) and public-key
 * recovery.
 */
public final class Secp256k1 {
  private static final Curves CURVE = Curves.SECP256K1;
  static final BigInteger N = CURVE.n;
  static final BigInteger HALF_N = N.shiftRight(1);

  private Secp256k1() {}

  /** Signs a 32-byte digest with private scalar {@code d} (docs §6). */
  static EthSignature signDigest(BigInteger d, byte[] digest) {
    checkDigest(digest);
    HMacDSAKCalculator kCalc = new HMacDSAKCalculator(new SHA256Digest());
    kCalc.init(N, d, digest);
    BigInteger e = new BigInteger(1, digest);
    while (true) {
      BigInteger k = kCalc.nextK();
      ECPoint rPoint = CURVE.publicPoint(k);
      BigInteger x = rPoint.getAffineXCoord().toBigInteger();
      // x >= n would need recovery id 2/3, which v = 27/28 cannot express: take RFC 6979's next k.
      if (x.signum() == 0 || x.compareTo(N) >= 0) {
        continue;
      }
      BigInteger s = k.modInverse(N).multiply(e.add(d.multiply(x))).mod(N);
      if (s.signum() == 0) {
        continue;
      }
      int recoveryId = rPoint.getAffineYCoord().toBigInteger().testBit(0) ? 1 : 0;
      if (s.compareTo(HALF_N) > 0) {
        s = N.subtract(s);
        recoveryId ^= 1;
      }
      return new EthSignature(x, s, 27 + recoveryId);
    }
  }

  /** Keccak-256 then {@link #signDigest}: what every tee-kms chain signature is. */
  static EthSignature signMessage(BigInteger d, byte[] message) {
    return signDigest(d, EthereumAddress.keccak256(message));
  }

  /**
   * Recovers the signer's public key (SEC1 §4.1.6) from a 32-byte digest, returning empty for any
   * signature that is malformed, non-canonical (high s, r or s out of range, v not 27/28) or not
   * recoverable.
   */
  public static Optional<byte[]> recoverPublicKey(byte[] digest, EthSignature sig) {
    checkDigest(digest);
    BigInteger r = sig.r();
    BigInteger s = sig.s();
    if (sig.v() != 27 && sig.v() != 28) {
      return Optional.empty();
    }
    if (r.signum() <= 0 || r.compareTo(N) >= 0 || s.signum() <= 0 || s.compareTo(HALF_N) > 0) {
      return Optional.empty();
    }
    byte[] compressedR = new byte[33];
    compressedR[0] = (byte) (sig.v() == 27 ? 0x02 : 0x03);
    System.arraycopy(Curves.to32(r), 0, compressedR, 1, 32);
    ECPoint rPoint;
    try {
      rPoint = CURVE.decodePoint(compressedR);
    } catch (IllegalArgumentException notOnCurve) {
      return Optional.empty();
    }
    BigInteger rInv = r.modInverse(N);
    BigInteger e = new BigInteger(1, digest);
    BigInteger u1 = N.subtract(e.mod(N)).multiply(rInv).mod(N);
    BigInteger u2 = s.multiply(rInv).mod(N);
    ECPoint q = ECAlgorithms.sumOfTwoMultiplies(CURVE.params.getG(), u1, rPoint, u2).normalize();
    if (q.isInfinity()) {
      return Optional.empty();
    }
    return Optional.of(q.getEncoded(false));
  }

  /**
   * The address of the signer of {@code keccak256(message)}, or empty when the signature is not
   * acceptable.
   */
  public static Optional<EthereumAddress> recoverAddress(byte[] message, EthSignature sig) {
    return recoverPublicKey(EthereumAddress.keccak256(message), sig)
        .map(EthereumAddress::fromPublicKey);
  }

  private static void checkDigest(byte[] digest) {
    if (digest.length != 32) {
      throw new IllegalArgumentException("digest must be 32 bytes, got " + digest.length);
    }
  }
}
