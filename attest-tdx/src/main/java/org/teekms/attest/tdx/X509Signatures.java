package org.teekms.attest.tdx;

import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.teekms.crypto.BouncyCastle;

/**
 * Checks one certificate's signature with one key, for callers outside this package (the RA-TLS
 * verifier's self-signature check). ECDSA-SHA256 by a P-256 key is checked with {@link EcdsaP256}
 * on the {@code tbsCertificate}: through the JCA the same check converts the JDK key to a new curve
 * and recomputes the generator's table on every call, about twice the cost (JFR of the KMS under
 * load, docs/performance.md). Any other algorithm or key goes through the JCA (BouncyCastle
 * provider), as before. Nothing is cached: the key is decoded for this call only (an RA-TLS
 * certificate's key is fresh).
 */
public final class X509Signatures {
  static final String ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";

  private X509Signatures() {}

  /** Whether {@code certificate}'s signature verifies with {@code signer}; never throws. */
  public static boolean verifies(X509Certificate certificate, PublicKey signer) {
    ECPublicKeyParameters p256 = null;
    if (ECDSA_WITH_SHA256.equals(certificate.getSigAlgOID())
        && certificate.getSigAlgParams() == null) {
      try {
        p256 = EcdsaP256.certificateKey(signer);
      } catch (IllegalArgumentException notP256) {
        // another curve or key type: the JCA decides below
      }
    }
    if (p256 != null) {
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
}
