package org.teekms.kms.keys;

import java.io.IOException;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.jce.spec.ECNamedCurveParameterSpec;
import org.bouncycastle.jce.spec.ECPrivateKeySpec;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.teekms.crypto.BouncyCastle;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.AppRootSecret;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.keys.VersionRef;

/**
 * Issues short-lived TLS certificates (SignCert) under an app's CA key ({@code tls-ca}, P-256,
 * derived per key version) for a key the attested CVM proved it holds (PKCS#10 signature). The
 * certificate names the app and the instance; the client ties the issuing key to the app through
 * the returned signature-chain certificate or the X.509 chain leaf → app CA certificate → KMS CA
 * certificate ({@link KmsCertificateAuthority}).
 */
public final class TlsCertificateIssuer {

  public static final int MAX_CSR_BYTES = 4096;
  public static final int MAX_DNS_NAMES = 16;
  public static final int MIN_VALIDITY_SECONDS = 60;
  public static final int MAX_VALIDITY_SECONDS = 86_400;
  private static final Pattern DNS_NAME =
      Pattern.compile(
          "(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
  private static final Provider BC = BouncyCastle.PROVIDER;
  private static final SecureRandom RANDOM = new SecureRandom();

  private TlsCertificateIssuer() {}

  /** A request that cannot be served as asked; the message says which field is wrong. */
  public static final class BadCertificateRequest extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadCertificateRequest(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * @param appCaX509 the issuing app CA's X.509 certificate (by the KMS CA); {@code kmsCaX509} the
   *     KMS CA's own
   */
  public record Issued(
      Bytes certificateDer,
      PurposeKeyCertificate caKeyCertificate,
      int keyVersion,
      String serialHex,
      String certificateSha256Hex,
      Bytes appCaX509,
      Bytes kmsCaX509) {}

  /**
   * Checks the request alone (size, CSR signature, key type, names, validity); returns the parsed
   * CSR's key.
   */
  public static SubjectPublicKeyInfo checkRequest(
      byte[] csrDer, List<String> dnsNames, int validitySeconds) {
    if (csrDer == null || csrDer.length == 0 || csrDer.length > MAX_CSR_BYTES) {
      throw new BadCertificateRequest("csr must be 1.." + MAX_CSR_BYTES + " bytes of DER");
    }
    if (dnsNames.size() > MAX_DNS_NAMES) {
      throw new BadCertificateRequest(
          "at most " + MAX_DNS_NAMES + " dns_names, got " + dnsNames.size());
    }
    for (String name : dnsNames) {
      if (!DNS_NAME.matcher(name).matches()) {
        throw new BadCertificateRequest(
            "not a DNS name: '" + (name.length() > 64 ? name.substring(0, 64) + "…" : name) + "'");
      }
    }
    if (validitySeconds < MIN_VALIDITY_SECONDS || validitySeconds > MAX_VALIDITY_SECONDS) {
      throw new BadCertificateRequest(
          "validity_seconds must be " + MIN_VALIDITY_SECONDS + ".." + MAX_VALIDITY_SECONDS);
    }
    PKCS10CertificationRequest csr;
    try {
      csr = new PKCS10CertificationRequest(csrDer);
    } catch (IOException | RuntimeException e) {
      throw new BadCertificateRequest(
          "csr is not a PKCS#10 request: " + e.getClass().getSimpleName());
    }
    SubjectPublicKeyInfo spki = csr.getSubjectPublicKeyInfo();
    ASN1ObjectIdentifier alg = spki.getAlgorithm().getAlgorithm();
    boolean p256 =
        X9ObjectIdentifiers.id_ecPublicKey.equals(alg)
            && SECObjectIdentifiers.secp256r1.equals(spki.getAlgorithm().getParameters());
    boolean ed25519 = EdECObjectIdentifiers.id_Ed25519.equals(alg);
    if (!p256 && !ed25519) {
      throw new BadCertificateRequest("the key to certify must be P-256 or Ed25519");
    }
    try {
      if (!csr.isSignatureValid(
          new JcaContentVerifierProviderBuilder().setProvider(BC).build(spki))) {
        throw new BadCertificateRequest(
            "csr signature does not verify: no proof of possession of the key");
      }
    } catch (OperatorCreationException | PKCSException | RuntimeException e) {
      if (e instanceof BadCertificateRequest b) {
        throw b;
      }
      throw new BadCertificateRequest(
          "csr signature cannot be checked: " + e.getClass().getSimpleName());
    }
    return spki;
  }

  public static Issued issue(
      KmsKeyDeriver deriver,
      VersionRef ref,
      Optional<InstanceId> instance,
      KeyVersionPolicy policy,
      byte[] csrDer,
      List<String> dnsNames,
      int validitySeconds,
      boolean clientAuth,
      Clock clock) {
    SubjectPublicKeyInfo subjectKey = checkRequest(csrDer, dnsNames, validitySeconds);
    try (DerivedKey ca = deriver.derive(KeyRequest.tlsCa(ref), policy);
        AppRootSecret appRoot = deriver.appRootSecret(ref, policy);
        DerivedKey kmsCa = deriver.kmsCaKey(ref.generation());
        DerivedKey kmsRoot = deriver.kmsRootKey(ref.generation())) {
      PurposeKeyCertificate caCert = new AppKeyDeriver(appRoot).certify(ca);
      String rootAddress = kmsRoot.ethereumAddress().toString();
      byte[] kmsCaX509 = KmsCertificateAuthority.kmsCaCertificate(kmsCa, rootAddress);
      byte[] appCaX509 = KmsCertificateAuthority.appCaCertificate(kmsCa, rootAddress, ca);
      byte[] scalar = ca.privateKeyBytes(InsecureSecretAccess.get());
      PrivateKey caKey;
      try {
        ECNamedCurveParameterSpec p256 = ECNamedCurveTable.getParameterSpec("P-256");
        caKey =
            KeyFactory.getInstance("EC", BC)
                .generatePrivate(new ECPrivateKeySpec(new BigInteger(1, scalar), p256));
      } finally {
        Arrays.fill(scalar, (byte) 0);
      }
      HexFormat hex = HexFormat.of();
      Instant now = clock.instant();
      byte[] serialBytes = new byte[16];
      RANDOM.nextBytes(serialBytes);
      BigInteger serial = new BigInteger(1, serialBytes);
      X500Name issuer = KmsCertificateAuthority.appCaName(ref.app(), ref.version());
      X500Name subject =
          new X500Name(
              "CN=" + instance.map(InstanceId::toHex).orElse("app") + ",O=0x" + ref.app().toHex());
      X509v3CertificateBuilder b =
          new X509v3CertificateBuilder(
              issuer,
              serial,
              Date.from(now.minusSeconds(60)),
              Date.from(now.plusSeconds(validitySeconds)),
              subject,
              subjectKey);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          new AuthorityKeyIdentifier(
              KmsCertificateAuthority.keyIdentifier(KmsCertificateAuthority.spki(ca.publicKey()))));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage,
          false,
          clientAuth
              ? new ExtendedKeyUsage(
                  new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth})
              : new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      if (!dnsNames.isEmpty()) {
        List<GeneralName> names = new ArrayList<>();
        dnsNames.forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
        b.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(names.toArray(GeneralName[]::new)));
      }
      byte[] der =
          b.build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(BC).build(caKey))
              .getEncoded();
      return new Issued(
          Bytes.copyOf(der),
          caCert,
          ref.version(),
          serial.toString(16),
          Digests.sha256Hex(der),
          Bytes.copyOf(appCaX509),
          Bytes.copyOf(kmsCaX509));
    } catch (BadCertificateRequest e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(
          "certificate issuance failed: " + e.getClass().getSimpleName(), e);
    }
  }
}
