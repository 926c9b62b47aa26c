package org.teekms.keys;

import java.io.IOException;
import java.math.BigInteger;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERSequence;

/**
 * A P-256 private key: ECDSA with SHA-256 and RFC 6979 nonces, so one key and message always give
 * the same bytes.
 */
public final class P256SigningKey extends SecretKeyHolder implements SigningKey {
  P256SigningKey(SecretBytes scalar, byte[] compressed) {
    super(scalar, compressed);
  }

  @Override
  public KeyAlgorithm algorithm() {
    return KeyAlgorithm.P256;
  }

  /**
   * ECDSA of SHA-256(message), r ‖ s (64 bytes); s as computed, not normalized (X.509 verifiers
   * accept both).
   */
  @Override
  public byte[] sign(byte[] message) {
    BigInteger[] rs = signRs(message);
    return EcdsaRs.encode(rs[0], rs[1]);
  }

  /**
   * The same signature DER-encoded (SEQUENCE of r, s), as X.509 {@code ecdsa-with-SHA256} carries
   * it.
   */
  public byte[] signDer(byte[] message) {
    BigInteger[] rs = signRs(message);
    ASN1EncodableVector v = new ASN1EncodableVector();
    v.add(new ASN1Integer(rs[0]));
    v.add(new ASN1Integer(rs[1]));
    try {
      return new DERSequence(v).getEncoded();
    } catch (IOException e) {
      throw new IllegalStateException("DER encoding of an ECDSA signature failed", e);
    }
  }

  private BigInteger[] signRs(byte[] message) {
    return EcdsaRs.sign(Curves.P256, new BigInteger(1, secret.internal()), EcdsaRs.sha256(message));
  }

  /** Checks a {@link #sign} signature; false for any malformed input. */
  public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
    return message != null
        && EcdsaRs.verify(Curves.P256, publicKey, EcdsaRs.sha256(message), signature);
  }
}
