package org.teekms.attest.tdx;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.teekms.crypto.BouncyCastle;

/**
 * Builds and checks certificate paths to one trust anchor. Signature checks (the costly part) do
 * not depend on time, so a successful check of "certificate C is signed by key K" is remembered by
 * the SHA-256 of C's DER and of K: the same bytes verify the same way every time. Validity periods
 * and CRLs are checked on every call.
 *
 * <p>ECDSA-SHA256 signatures by P-256 keys (all of Intel's PKI) are checked with {@link EcdsaP256}
 * on the signed bytes ({@code tbsCertificate}, {@code tbsCertList}); certificate keys are decoded
 * once per process ({@link #keyOf}), so a key that signs many items (the root CA: root CRL and both
 * intermediates; the PCK CA: its CRL and every leaf) keeps BouncyCastle's precomputed multiples.
 * Any other algorithm goes through the JCA (BouncyCastle provider). The JDK's parser has already
 * rejected a certificate or CRL whose inner and outer signature algorithms differ.
 */
final class CertificatePaths {
  private static final int MAX_CACHED = 16_384;
  private static final Provider BC = BouncyCastle.PROVIDER;

  private final X509Certificate anchor;
  private final byte[] anchorDer;
  private static final String ECDSA_WITH_SHA256 = X509Signatures.ECDSA_WITH_SHA256;

  private final Cache<String, Boolean> verifiedSignatures =
      Caffeine.newBuilder().maximumSize(MAX_CACHED).build();

  /**
   * Decoded P-256 keys by SHA-256 of their SubjectPublicKeyInfo ({@link #NOT_P256} for other keys),
   * shared by every verifier of the process: a decoded key is a pure function of its encoding, and
   * the few keys of Intel's PKI (root CA, TCB signing, PCK platform and processor CAs) sign every
   * collateral item. BouncyCastle widens a point's precomputed table after a few uses
   * ("promotion"); a key decoded afresh for each use never gets there and costs about twice as much
   * per verify. Only keys are shared here; every signature is still checked.
   */
  private static final Cache<String, Object> KEYS = Caffeine.newBuilder().maximumSize(1024).build();

  private static final Object NOT_P256 = new Object();

  CertificatePaths(X509Certificate anchor) {
    this.anchor = anchor;
    try {
      this.anchorDer = anchor.getEncoded();
    } catch (CertificateEncodingException e) {
      throw new IllegalArgumentException("trust anchor cannot be encoded", e);
    }
  }

  X509Certificate anchor() {
    return anchor;
  }

  static Provider bouncyCastle() {
    return BC;
  }

  /**
   * The path from {@code chain.get(0)} to the anchor, without the anchor: trailing copies of the
   * anchor are dropped, each certificate must be signed by the next one (the last by the anchor),
   * and every issuer must be a CA.
   */
  List<X509Certificate> path(List<X509Certificate> chain, VerificationFailure failure, String what)
      throws VerificationException {
    List<X509Certificate> path = new ArrayList<>(chain);
    while (!path.isEmpty() && isAnchor(path.get(path.size() - 1))) {
      path.remove(path.size() - 1);
    }
    if (path.isEmpty()) {
      throw new VerificationException(failure, what + " holds only the root certificate");
    }
    for (int i = 0; i < path.size(); i++) {
      X509Certificate cert = path.get(i);
      X509Certificate issuer = i + 1 < path.size() ? path.get(i + 1) : anchor;
      String name =
          what + " certificate " + i + " (" + cert.getSubjectX500Principal().getName() + ")";
      if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
        throw new VerificationException(
            failure,
            name
                + " is issued by "
                + cert.getIssuerX500Principal().getName()
                + ", but the next certificate is "
                + issuer.getSubjectX500Principal().getName()
                + (issuer == anchor ? " (the trust anchor)" : ""));
      }
      if (issuer.getBasicConstraints() < 0) {
        throw new VerificationException(failure, "issuer of " + name + " is not a CA certificate");
      }
      if (!signedBy(cert, issuer)) {
        throw new VerificationException(
            failure,
            "signature of "
                + name
                + " does not verify with the key of "
                + (issuer == anchor
                    ? "the trust anchor"
                    : issuer.getSubjectX500Principal().getName()));
      }
    }
    return List.copyOf(path);
  }

  boolean isAnchor(X509Certificate cert) {
    try {
      return Arrays.equals(cert.getEncoded(), anchorDer);
    } catch (CertificateEncodingException e) {
      return false;
    }
  }

  private boolean signedBy(X509Certificate cert, X509Certificate issuer) {
    String issuerKeyId = sha256(issuer.getPublicKey().getEncoded());
    String key;
    try {
      key = sha256(cert.getEncoded()) + ":" + issuerKeyId;
    } catch (CertificateEncodingException e) {
      return false;
    }
    if (verifiedSignatures.getIfPresent(key) != null) {
      return true;
    }
    boolean ok =
        X509Signatures.verifies(
            cert, issuer.getPublicKey(), keyOf(issuer.getPublicKey(), issuerKeyId));
    if (ok) {
      verifiedSignatures.put(key, Boolean.TRUE);
    }
    return ok;
  }

  /** Checks that a CRL was issued and signed by {@code issuer}. */
  void checkCrlSignature(X509CRL crl, X509Certificate issuer, String what)
      throws VerificationException {
    if (!crl.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
      throw new VerificationException(
          VerificationFailure.COLLATERAL_INVALID,
          what
              + " is issued by "
              + crl.getIssuerX500Principal().getName()
              + ", expected "
              + issuer.getSubjectX500Principal().getName());
    }
    boolean ok;
    ECPublicKeyParameters p256 = keyOf(issuer);
    if (p256 != null
        && ECDSA_WITH_SHA256.equals(crl.getSigAlgOID())
        && crl.getSigAlgParams() == null) {
      try {
        ok = EcdsaP256.verifyDer(p256, crl.getTBSCertList(), crl.getSignature());
      } catch (java.security.cert.CRLException e) {
        ok = false;
      }
    } else {
      ok = jcaVerify(() -> crl.verify(issuer.getPublicKey(), BC));
    }
    if (!ok) {
      throw new VerificationException(
          VerificationFailure.COLLATERAL_INVALID,
          what
              + " signature does not verify with the key of "
              + issuer.getSubjectX500Principal().getName());
    }
  }

  /**
   * The P-256 key of {@code cert} in BouncyCastle's form, decoded once per process (so its
   * precomputed multiples are reused), or null if it is not a P-256 key.
   */
  ECPublicKeyParameters keyOf(X509Certificate cert) {
    return keyOf(cert.getPublicKey(), sha256(cert.getPublicKey().getEncoded()));
  }

  private ECPublicKeyParameters keyOf(PublicKey key, String keyId) {
    Object k =
        KEYS.get(
            keyId,
            id -> {
              try {
                return EcdsaP256.certificateKey(key);
              } catch (IllegalArgumentException notP256) {
                return NOT_P256;
              }
            });
    return k instanceof ECPublicKeyParameters p ? p : null;
  }

  private interface JcaCheck {
    void run() throws GeneralSecurityException;
  }

  private static boolean jcaVerify(JcaCheck check) {
    try {
      check.run();
      return true;
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** Every certificate of {@code path} and the anchor must be valid at {@code at}. */
  void checkValidity(
      List<X509Certificate> path, Instant at, VerificationFailure failure, String what)
      throws VerificationException {
    Date d = Date.from(at);
    for (int i = 0; i <= path.size(); i++) {
      X509Certificate c = i < path.size() ? path.get(i) : anchor;
      if (d.before(c.getNotBefore()) || d.after(c.getNotAfter())) {
        throw new VerificationException(
            failure,
            what
                + " certificate "
                + c.getSubjectX500Principal().getName()
                + " is not valid at "
                + at
                + " (valid "
                + c.getNotBefore().toInstant()
                + " to "
                + c.getNotAfter().toInstant()
                + ")");
      }
    }
  }

  /**
   * No certificate of {@code path}, nor the anchor, may be revoked. Each certificate is checked
   * against the CRL of its issuer, which must be among {@code crls}: a certificate whose issuer has
   * no CRL here fails (fail closed).
   */
  void checkRevocation(List<X509Certificate> path, List<X509CRL> crls, String what)
      throws VerificationException {
    for (int i = 0; i <= path.size(); i++) {
      X509Certificate c = i < path.size() ? path.get(i) : anchor;
      X509CRL crl = null;
      for (X509CRL candidate : crls) {
        if (candidate.getIssuerX500Principal().equals(c.getIssuerX500Principal())) {
          crl = candidate;
          break;
        }
      }
      if (crl == null) {
        throw new VerificationException(
            VerificationFailure.COLLATERAL_MISMATCH,
            "no CRL from "
                + c.getIssuerX500Principal().getName()
                + " to check "
                + what
                + " certificate "
                + c.getSubjectX500Principal().getName());
      }
      if (crl.getRevokedCertificate(c.getSerialNumber()) != null) {
        throw new VerificationException(
            VerificationFailure.CERTIFICATE_REVOKED,
            what
                + " certificate "
                + c.getSubjectX500Principal().getName()
                + " (serial "
                + c.getSerialNumber().toString(16)
                + ") is revoked");
      }
    }
  }

  /** Hex SHA-256 of the concatenation of {@code parts}. */
  static String sha256(byte[]... parts) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (byte[] p : parts) {
        sha.update(p);
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
