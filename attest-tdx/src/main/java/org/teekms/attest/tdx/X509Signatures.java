package org.teekms.attest.tdx;

import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.teekms.crypto.BouncyCastle;

/**
 * Checks one certificate's signature with one key: the RA-TLS verifier's self-signature check, and
 * {@link CertificatePaths} for Intel's PKI. ECDSA-SHA256 by a P-256 key is checked with {@link
 * EcdsaP256} on the {@code tbsCertificate}; any other algorithm or key goes through the JCA
 * (BouncyCastle provider). For a key used once (an RA-TLS certificate's) the lightweight path is ≈
 * 15 % cheaper than the JCA (≈ 200 against ≈ 235 µs per verify on one thread, docs/performance.md);
 * for keys that sign many items the saving is the key decoded once, which {@link CertificatePaths}
 * keeps and passes in.
 */
public final class X509Signatures {
  static final String ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";

  private X509Signatures() {}

  /** Whether {@code certificate}'s signature verifies with {@code signer}; never throws. */
  public static boolean verifies(X509Certificate certificate, PublicKey signer) {
    ECPublicKeyParameters p256 = null;
    if (ecdsaSha256(certificate)) {
      try {
        p256 = EcdsaP256.certificateKey(signer);
      } catch (IllegalArgumentException notP256) {
        // another curve or key type: the JCA decides
      }
    }
    return verifies(certificate, signer, p256);
  }

  /**
   * As {@link #verifies(X509Certificate, PublicKey)}, with {@code signer} already decoded as a
   * P-256 key ({@code p256}; null when it is not one).
   */
  static boolean verifies(
      X509Certificate certificate, PublicKey signer, ECPublicKeyParameters p256) {
    if (p256 != null && ecdsaSha256(certificate)) {
      try {
        return EcdsaP256.verifyDer(
            p256, certificate.getTBSCertificate(), certificate.getSignature());
      } catch (CertificateEncodingException e) {
        return false;
      }
    }
    try {
      certificate.verify(signer, BouncyCastle.PROVIDER);
      return true;
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static boolean ecdsaSha256(X509Certificate certificate) {
    return ECDSA_WITH_SHA256.equals(certificate.getSigAlgOID())
        && certificate.getSigAlgParams() == null;
  }
}
