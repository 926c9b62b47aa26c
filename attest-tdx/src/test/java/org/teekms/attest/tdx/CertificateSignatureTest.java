package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

/**
 * Certificate and CRL signatures: ECDSA-SHA256 by P-256 keys is checked with BouncyCastle's
 * lightweight API (the fast path), everything else through the JCA; both must give the same
 * verdicts as the JCA would.
 */
class CertificateSignatureTest {
  private static final Instant AT = Instant.parse("2030-01-15T00:00:00Z");

  @Test
  void p256Sha256CertificateSignedByTheIssuerVerifiesAndOneSignedByAnotherKeyDoesNot()
      throws Exception {
    KeyPair root = ec("secp256r1");
    X509Certificate anchor = cert("CN=Root", root, "CN=Root", root, "SHA256withECDSA", true);
    KeyPair leafKey = ec("secp256r1");
    X509Certificate good = cert("CN=Leaf", leafKey, "CN=Root", root, "SHA256withECDSA", false);
    X509Certificate forged =
        cert("CN=Leaf", leafKey, "CN=Root", ec("secp256r1"), "SHA256withECDSA", false);

    assertEquals(
        List.of(good),
        paths(anchor).path(List.of(good), VerificationFailure.PCK_CHAIN_INVALID, "test"));
    VerificationException e =
        assertThrows(
            VerificationException.class,
            () ->
                paths(anchor).path(List.of(forged), VerificationFailure.PCK_CHAIN_INVALID, "test"));
    assertTrue(e.getMessage().contains("does not verify"), e.getMessage());
  }

  @Test
  void nonCanonicalDerSignatureIsRejectedThoughItsNumbersAreRight() throws Exception {
    KeyPair root = ec("secp256r1");
    X509Certificate anchor = cert("CN=Root", root, "CN=Root", root, "SHA256withECDSA", true);
    X509Certificate good =
        cert("CN=Leaf", ec("secp256r1"), "CN=Root", root, "SHA256withECDSA", false);
    // same r and s, but r encoded with a superfluous leading zero octet (BER, not DER): another
    // byte string for the
    // same certificate must not verify, as with BouncyCastle's JCA provider
    ASN1Sequence rs = ASN1Sequence.getInstance(good.getSignature());
    BigInteger r = ASN1Integer.getInstance(rs.getObjectAt(0)).getValue();
    BigInteger s = ASN1Integer.getInstance(rs.getObjectAt(1)).getValue();
    byte[] rBytes = r.toByteArray();
    byte[] padded = new byte[rBytes.length + 1];
    System.arraycopy(rBytes, 0, padded, 1, rBytes.length);
    byte[] sDer = new ASN1Integer(s).getEncoded();
    byte[] body = new byte[2 + padded.length + sDer.length];
    body[0] = 0x02;
    body[1] = (byte) padded.length;
    System.arraycopy(padded, 0, body, 2, padded.length);
    System.arraycopy(sDer, 0, body, 2 + padded.length, sDer.length);
    byte[] sig = new byte[2 + body.length];
    sig[0] = 0x30;
    sig[1] = (byte) body.length;
    System.arraycopy(body, 0, sig, 2, body.length);
    X509Certificate mangled = withSignature(good, sig);

    assertThrows(
        java.security.GeneralSecurityException.class,
        () -> mangled.verify(root.getPublic(), CertificatePaths.bouncyCastle()));
    assertThrows(
        VerificationException.class,
        () -> paths(anchor).path(List.of(mangled), VerificationFailure.PCK_CHAIN_INVALID, "test"));
  }

  @Test
  void otherAlgorithmsAndCurvesGoThroughTheJcaAndStillVerify() throws Exception {
    KeyPair root = ec("secp256r1");
    X509Certificate anchor = cert("CN=Root", root, "CN=Root", root, "SHA256withECDSA", true);
    X509Certificate sha384 =
        cert("CN=Leaf", ec("secp256r1"), "CN=Root", root, "SHA384withECDSA", false);
    assertEquals(
        List.of(sha384),
        paths(anchor).path(List.of(sha384), VerificationFailure.PCK_CHAIN_INVALID, "t"));

    KeyPair root384 = ec("secp384r1");
    X509Certificate anchor384 =
        cert("CN=Root 384", root384, "CN=Root 384", root384, "SHA384withECDSA", true);
    X509Certificate leaf =
        cert("CN=Leaf", ec("secp256r1"), "CN=Root 384", root384, "SHA384withECDSA", false);
    X509Certificate forged =
        cert("CN=Leaf", ec("secp256r1"), "CN=Root 384", ec("secp384r1"), "SHA384withECDSA", false);
    assertEquals(
        List.of(leaf),
        paths(anchor384).path(List.of(leaf), VerificationFailure.PCK_CHAIN_INVALID, "t"));
    assertThrows(
        VerificationException.class,
        () -> paths(anchor384).path(List.of(forged), VerificationFailure.PCK_CHAIN_INVALID, "t"));
  }

  @Test
  void crlSignedByItsIssuerVerifiesAndOneSignedByAnotherKeyIsCollateralInvalid() throws Exception {
    KeyPair root = ec("secp256r1");
    X509Certificate anchor = cert("CN=Root", root, "CN=Root", root, "SHA256withECDSA", true);
    CertificatePaths paths = paths(anchor);
    paths.checkCrlSignature(crl("CN=Root", root), anchor, "root CRL");
    VerificationException e =
        assertThrows(
            VerificationException.class,
            () -> paths.checkCrlSignature(crl("CN=Root", ec("secp256r1")), anchor, "root CRL"));
    assertEquals(VerificationFailure.COLLATERAL_INVALID, e.failure());
  }

  @Test
  void aCachedIssuerKeyNeverVouchesForAnotherIssuer() throws Exception {
    // two roots with the same name: the process-wide key cache is keyed by the key itself, so a
    // certificate signed by
    // the first root still fails under the second
    KeyPair rootA = ec("secp256r1");
    KeyPair rootB = ec("secp256r1");
    X509Certificate anchorA = cert("CN=Root", rootA, "CN=Root", rootA, "SHA256withECDSA", true);
    X509Certificate anchorB = cert("CN=Root", rootB, "CN=Root", rootB, "SHA256withECDSA", true);
    X509Certificate leaf =
        cert("CN=Leaf", ec("secp256r1"), "CN=Root", rootA, "SHA256withECDSA", false);
    paths(anchorA).path(List.of(leaf), VerificationFailure.PCK_CHAIN_INVALID, "t");
    assertThrows(
        VerificationException.class,
        () -> paths(anchorB).path(List.of(leaf), VerificationFailure.PCK_CHAIN_INVALID, "t"));
  }

  @Test
  void aSelfSignedP256CertificateVerifiesWithItsOwnKeyAndNotWithAnother() throws Exception {
    KeyPair key = ec("secp256r1");
    X509Certificate self = cert("CN=CVM", key, "CN=CVM", key, "SHA256withECDSA", false);
    assertTrue(X509Signatures.verifies(self, self.getPublicKey()));
    assertFalse(X509Signatures.verifies(self, ec("secp256r1").getPublic()));
  }

  @Test
  void theFastPathAgreesWithTheJcaOnEveryOneBitChangeOfTheSignature() throws Exception {
    KeyPair key = ec("secp256r1");
    X509Certificate self = cert("CN=CVM", key, "CN=CVM", key, "SHA256withECDSA", false);
    byte[] signature = self.getSignature();
    int rejected = 0;
    for (int i = 0; i < signature.length; i++) {
      for (int bit = 0; bit < 8; bit += 3) {
        byte[] mutated = signature.clone();
        mutated[i] ^= (byte) (1 << bit);
        X509Certificate m = withSignature(self, mutated);
        boolean jca;
        try {
          m.verify(key.getPublic(), CertificatePaths.bouncyCastle());
          jca = true;
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
          jca = false;
        }
        assertEquals(jca, X509Signatures.verifies(m, key.getPublic()), "byte " + i + " bit " + bit);
        rejected += jca ? 0 : 1;
      }
    }
    assertEquals(signature.length * 3, rejected, "every change must be refused");
  }

  @Test
  void otherCurvesAndAlgorithmsAreCheckedThroughTheJca() throws Exception {
    KeyPair p384 = ec("secp384r1");
    X509Certificate self384 = cert("CN=CVM", p384, "CN=CVM", p384, "SHA384withECDSA", false);
    assertTrue(X509Signatures.verifies(self384, self384.getPublicKey()));
    assertFalse(X509Signatures.verifies(self384, ec("secp384r1").getPublic()));

    KeyPair p256 = ec("secp256r1");
    X509Certificate sha384 = cert("CN=CVM", p256, "CN=CVM", p256, "SHA384withECDSA", false);
    assertTrue(X509Signatures.verifies(sha384, sha384.getPublicKey()));
    assertFalse(X509Signatures.verifies(sha384, ec("secp256r1").getPublic()));
  }

  private static CertificatePaths paths(X509Certificate anchor) {
    return new CertificatePaths(anchor);
  }

  private static KeyPair ec(String curve) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec(curve));
    return g.generateKeyPair();
  }

  private static X509Certificate cert(
      String subject, KeyPair key, String issuer, KeyPair issuerKey, String alg, boolean ca)
      throws Exception {
    JcaX509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            new X500Name(issuer),
            BigInteger.valueOf(7),
            Date.from(Instant.parse("2025-01-01T00:00:00Z")),
            Date.from(Instant.parse("2040-01-01T00:00:00Z")),
            new X500Name(subject),
            key.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    byte[] der =
        b.build(
                new JcaContentSignerBuilder(alg)
                    .setProvider(CertificatePaths.bouncyCastle())
                    .build(issuerKey.getPrivate()))
            .getEncoded();
    return Pem.certificate(der);
  }

  private static X509CRL crl(String issuer, KeyPair key) throws Exception {
    X509v2CRLBuilder b =
        new X509v2CRLBuilder(new X500Name(issuer), Date.from(AT.minusSeconds(86_400)));
    b.setNextUpdate(Date.from(AT.plusSeconds(86_400)));
    byte[] der =
        new JcaX509CRLConverter()
            .getCRL(
                b.build(
                    new JcaContentSignerBuilder("SHA256withECDSA")
                        .setProvider(CertificatePaths.bouncyCastle())
                        .build(key.getPrivate())))
            .getEncoded();
    return Pem.crl(der);
  }

  private static X509Certificate withSignature(X509Certificate cert, byte[] signature)
      throws Exception {
    ASN1Sequence c = ASN1Sequence.getInstance(cert.getEncoded());
    ASN1EncodableVector v = new ASN1EncodableVector();
    v.add(c.getObjectAt(0));
    v.add(c.getObjectAt(1));
    v.add(new DERBitString(signature));
    return Pem.certificate(new DERSequence(v).getEncoded());
  }
}
