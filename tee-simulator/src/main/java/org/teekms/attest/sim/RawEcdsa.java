package org.teekms.attest.sim;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.teekms.crypto.BouncyCastle;

/** P-256 keys and the raw r‖s signatures (and raw x‖y public keys) that DCAP structures use. */
final class RawEcdsa {
  static final Provider BC = BouncyCastle.PROVIDER;

  private RawEcdsa() {}

  static KeyPair newP256(java.security.SecureRandom random) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC", BC);
      g.initialize(new ECGenParameterSpec("secp256r1"), random);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * ECDSA-P256-SHA256 over {@code data}, as 64 bytes r‖s. Deterministic nonces (RFC 6979,
   * BouncyCastle's ECDDSA): ordinary ECDSA signatures, and a seeded simulator reproduces its
   * collateral signatures exactly.
   */
  static byte[] sign(PrivateKey key, byte[]... data) {
    try {
      Signature s = Signature.getInstance("SHA256withECDDSA", BC);
      s.initSign(key);
      for (byte[] d : data) {
        s.update(d);
      }
      ASN1Sequence seq = ASN1Sequence.getInstance(s.sign());
      byte[] out = new byte[64];
      put(ASN1Integer.getInstance(seq.getObjectAt(0)).getValue(), out, 0);
      put(ASN1Integer.getInstance(seq.getObjectAt(1)).getValue(), out, 32);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The 64-byte x‖y form of a P-256 public key, as in a quote's attestation key field. */
  static byte[] rawPublicKey(KeyPair keys) {
    ECPublicKey pub = (ECPublicKey) keys.getPublic();
    byte[] out = new byte[64];
    put(pub.getW().getAffineX(), out, 0);
    put(pub.getW().getAffineY(), out, 32);
    return out;
  }

  private static void put(BigInteger v, byte[] out, int offset) {
    byte[] b = v.toByteArray();
    int len = Math.min(b.length, 32);
    System.arraycopy(b, b.length - len, out, offset + 32 - len, len);
  }
}
