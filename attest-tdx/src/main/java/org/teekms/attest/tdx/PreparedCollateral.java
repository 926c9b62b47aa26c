package org.teekms.attest.tdx;

import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralDocuments;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.QeIdentity;
import org.teekms.attest.tdx.collateral.SignedJson;
import org.teekms.attest.tdx.collateral.TcbInfo;

/**
 * Collateral whose signatures and issuer chains have been checked against the trust anchor, with
 * its documents parsed. Those checks do not depend on time, so one instance serves every quote;
 * {@link #checkAt} does the time-dependent checks (validity windows, revocation) on each call.
 */
record PreparedCollateral(
    Collateral source,
    TcbInfo tcbInfo,
    QeIdentity qeIdentity,
    X509CRL pckCrl,
    X509CRL rootCaCrl,
    List<X509Certificate> tcbInfoPath,
    List<X509Certificate> qeIdentityPath,
    List<X509Certificate> pckCrlPath) {

  static PreparedCollateral prepare(Collateral c, CertificatePaths paths)
      throws VerificationException {
    X509CRL rootCrl = crl(c.rootCaCrl().toByteArray(), "root CA CRL");
    paths.checkCrlSignature(rootCrl, paths.anchor(), "root CA CRL");

    List<X509Certificate> tcbPath =
        paths.path(
            c.tcbInfoIssuerChain(),
            VerificationFailure.COLLATERAL_INVALID,
            "TCB info issuer chain");
    checkDocumentSignature(c.tcbInfo(), tcbPath.get(0), paths, "TCB info");
    List<X509Certificate> qePath =
        paths.path(
            c.qeIdentityIssuerChain(),
            VerificationFailure.COLLATERAL_INVALID,
            "QE identity issuer chain");
    checkDocumentSignature(c.qeIdentity(), qePath.get(0), paths, "QE identity");

    List<X509Certificate> pckCrlPath =
        paths.path(
            c.pckCrlIssuerChain(), VerificationFailure.COLLATERAL_INVALID, "PCK CRL issuer chain");
    X509CRL pckCrl = crl(c.pckCrl().toByteArray(), "PCK CRL");
    paths.checkCrlSignature(pckCrl, pckCrlPath.get(0), "PCK CRL");

    TcbInfo tcbInfo;
    QeIdentity qeIdentity;
    try {
      tcbInfo = CollateralDocuments.tcbInfo(c.tcbInfo());
      qeIdentity = CollateralDocuments.qeIdentity(c.qeIdentity());
    } catch (CollateralException e) {
      throw new VerificationException(VerificationFailure.COLLATERAL_INVALID, e.getMessage());
    }
    return new PreparedCollateral(
        c, tcbInfo, qeIdentity, pckCrl, rootCrl, tcbPath, qePath, pckCrlPath);
  }

  /**
   * Validity windows of every document, CRL and certificate, and revocation of the collateral
   * signers.
   */
  void checkAt(Instant at, CertificatePaths paths) throws VerificationException {
    window(tcbInfo.issueDate(), tcbInfo.nextUpdate(), at, "TCB info");
    window(qeIdentity.issueDate(), qeIdentity.nextUpdate(), at, "QE identity");
    crlWindow(rootCaCrl, at, "root CA CRL");
    crlWindow(pckCrl, at, "PCK CRL");
    paths.checkValidity(tcbInfoPath, at, VerificationFailure.COLLATERAL_EXPIRED, "TCB info issuer");
    paths.checkValidity(
        qeIdentityPath, at, VerificationFailure.COLLATERAL_EXPIRED, "QE identity issuer");
    paths.checkValidity(pckCrlPath, at, VerificationFailure.COLLATERAL_EXPIRED, "PCK CRL issuer");
    List<X509CRL> crls = List.of(rootCaCrl, pckCrl);
    paths.checkRevocation(tcbInfoPath, crls, "TCB info issuer");
    paths.checkRevocation(qeIdentityPath, crls, "QE identity issuer");
    paths.checkRevocation(pckCrlPath, crls, "PCK CRL issuer");
  }

  private static void window(Instant from, Instant to, Instant at, String what)
      throws VerificationException {
    if (at.isBefore(from)) {
      throw new VerificationException(
          VerificationFailure.COLLATERAL_EXPIRED,
          what + " is not yet valid at " + at + " (issued " + from + ")");
    }
    if (at.isAfter(to)) {
      throw new VerificationException(
          VerificationFailure.COLLATERAL_EXPIRED,
          what + " has expired: nextUpdate " + to + " is before " + at);
    }
  }

  private static void crlWindow(X509CRL crl, Instant at, String what) throws VerificationException {
    if (crl.getNextUpdate() == null) {
      throw new VerificationException(
          VerificationFailure.COLLATERAL_INVALID, what + " has no nextUpdate");
    }
    window(crl.getThisUpdate().toInstant(), crl.getNextUpdate().toInstant(), at, what);
  }

  private static void checkDocumentSignature(
      SignedJson doc, X509Certificate signer, CertificatePaths paths, String what)
      throws VerificationException {
    ECPublicKeyParameters key =
        paths.keyOf(signer); // one decoded key for both documents (same TCB signing key)
    if (key == null) {
      throw new VerificationException(
          VerificationFailure.COLLATERAL_INVALID,
          what + " signer: certificate key is not an EC P-256 key");
    }
    if (!EcdsaP256.verify(key, doc.signedBytes(), doc.signature().toByteArray())) {
      throw new VerificationException(
          VerificationFailure.COLLATERAL_INVALID,
          what
              + " signature does not verify with the key of "
              + signer.getSubjectX500Principal().getName());
    }
  }

  private static X509CRL crl(byte[] der, String what) throws VerificationException {
    try {
      return Pem.crl(der);
    } catch (CertificateException e) {
      throw new VerificationException(
          VerificationFailure.COLLATERAL_INVALID, what + ": " + e.getMessage());
    }
  }
}
