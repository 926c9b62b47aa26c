package org.teekms.attest.gpu;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Issues throwaway P-384 certificates for tests. */
final class TestCerts {
  private static final AtomicLong SERIAL = new AtomicLong(1000);

  private TestCerts() {}

  static KeyPair key() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC", CertChainValidator.BC);
    g.initialize(new ECGenParameterSpec("secp384r1"));
    return g.generateKeyPair();
  }

  /**
   * A certificate for {@code subject}; self-signed when issuer is null; with id-kp-OCSPSigning when
   * asked.
   */
  static X509Certificate issue(
      String subject,
      KeyPair key,
      X509Certificate issuer,
      KeyPair issuerKey,
      boolean ca,
      boolean ocspSigning,
      Instant notBefore,
      Instant notAfter)
      throws Exception {
    X500Name issuerName =
        issuer == null
            ? new X500Name(subject)
            : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
    X509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            issuerName,
            BigInteger.valueOf(SERIAL.incrementAndGet()),
            Date.from(notBefore),
            Date.from(notAfter),
            new X500Name(subject),
            key.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    if (ocspSigning) {
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_OCSPSigning));
    }
    return new JcaX509CertificateConverter()
        .getCertificate(
            b.build(
                new JcaContentSignerBuilder("SHA384withECDSA")
                    .setProvider(CertChainValidator.BC)
                    .build((issuerKey == null ? key : issuerKey).getPrivate())));
  }
}
