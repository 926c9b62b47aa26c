package org.teekms.kms.keys;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.DERUTCTime;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.jce.spec.ECNamedCurveParameterSpec;
import org.bouncycastle.operator.ContentSigner;
import org.teekms.crypto.Digests;
import org.teekms.keys.AppId;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.Purpose;

/**
 * The KMS certificate authority (docs/key-derivation.md §10): per root generation g a P-256 key
 * {@code kms-ca} derived from R_g and a self-signed X.509 certificate; it certifies each app CA key
 * ({@code tls-ca} of (g, app, version)) with an X.509 CA certificate. Both certificates are a pure
 * function of the root secret and the names: fixed validity, serial from the key, deterministic
 * ECDSA (RFC 6979, SHA-256), so every replica serves the same bytes and a verifier can recompute
 * them.
 */
public final class KmsCertificateAuthority {

  /**
   * notBefore of every KMS-issued CA certificate (the validity carries no meaning: versions are
   * revoked on chain).
   */
  public static final Instant NOT_BEFORE = Instant.parse("2025-01-01T00:00:00Z");

  private static final ECNamedCurveParameterSpec P256 = ECNamedCurveTable.getParameterSpec("P-256");
  private static final AlgorithmIdentifier ECDSA_SHA256 =
      new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA256);
  // Public certificates only (no key material): a small bounded memo, least useful entries evicted.
  private static final Cache<String, byte[]> KMS_CA_CACHE =
      Caffeine.newBuilder().maximumSize(64).build();

  private KmsCertificateAuthority() {}

  // Names are built most-significant RDN first (DER order O, OU, CN), so RFC 4514 renders them
  // "CN=…,OU=…,O=…".

  /**
   * Subject (= issuer) of the KMS CA certificate of generation g: names the generation's KMS root
   * address.
   */
  public static X500Name kmsCaName(int generation, String kmsRootAddress) {
    return new X500Name(
        "O=" + kmsRootAddress + ",OU=generation " + generation + ",CN=tee-kms KMS CA");
  }

  /** Subject of an app CA certificate; also the issuer of every SignCert leaf under it. */
  public static X500Name appCaName(AppId appId, int version) {
    return new X500Name("O=0x" + appId.toHex() + ",CN=tee-kms app CA v" + version);
  }

  /**
   * The self-signed KMS CA certificate (DER) of the generation of {@code kmsCa}; cached by public
   * key.
   */
  public static byte[] kmsCaCertificate(DerivedKey kmsCa, String kmsRootAddress) {
    require(kmsCa, Purpose.KMS_CA);
    int generation = kmsCa.request().generation();
    String cacheKey =
        generation
            + ":"
            + kmsRootAddress
            + ":"
            + java.util.HexFormat.of().formatHex(kmsCa.publicKey());
    byte[] cached = KMS_CA_CACHE.getIfPresent(cacheKey);
    if (cached != null) {
      return cached.clone();
    }
    X500Name name = kmsCaName(generation, kmsRootAddress);
    SubjectPublicKeyInfo spki = spki(kmsCa.publicKey());
    byte[] der = build(name, name, spki, spki, new BasicConstraints(1), kmsCa);
    KMS_CA_CACHE.put(cacheKey, der);
    return der.clone();
  }

  /**
   * The X.509 certificate (DER) of an app CA key ({@code tls-ca}) issued by the KMS CA of the same
   * generation.
   */
  public static byte[] appCaCertificate(DerivedKey kmsCa, String kmsRootAddress, DerivedKey appCa) {
    require(kmsCa, Purpose.KMS_CA);
    require(appCa, Purpose.TLS_CA);
    if (appCa.request().generation() != kmsCa.request().generation()) {
      throw new IllegalArgumentException(
          "app CA key of generation "
              + appCa.request().generation()
              + " cannot be certified by the KMS CA of generation "
              + kmsCa.request().generation());
    }
    return build(
        kmsCaName(kmsCa.request().generation(), kmsRootAddress),
        appCaName(appCa.request().appId(), appCa.request().version()),
        spki(appCa.publicKey()),
        spki(kmsCa.publicKey()),
        new BasicConstraints(0),
        kmsCa);
  }

  /**
   * SubjectPublicKeyInfo of a P-256 public key (SEC1 compressed, as {@link DerivedKey#publicKey()}
   * gives it).
   */
  public static SubjectPublicKeyInfo spki(byte[] compressedP256) {
    byte[] uncompressed = P256.getCurve().decodePoint(compressedP256).getEncoded(false);
    return new SubjectPublicKeyInfo(
        new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, SECObjectIdentifiers.secp256r1),
        uncompressed);
  }

  /** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
  public static byte[] keyIdentifier(SubjectPublicKeyInfo spki) {
    return Digests.sha1(spki.getPublicKeyData().getBytes());
  }

  private static byte[] build(
      X500Name issuer,
      X500Name subject,
      SubjectPublicKeyInfo subjectKey,
      SubjectPublicKeyInfo issuerKey,
      BasicConstraints constraints,
      DerivedKey signer) {
    byte[] h = Digests.sha256(subjectKey.getPublicKeyData().getBytes());
    h[0] &= 0x7f;
    BigInteger serial =
        new BigInteger(1, Arrays.copyOf(h, 16)).setBit(0); // positive, non-zero, 16 bytes at most
    X509v3CertificateBuilder b =
        new X509v3CertificateBuilder(
            issuer,
            serial,
            new Time(new DERUTCTime(Date.from(NOT_BEFORE))),
            new Time(new ASN1GeneralizedTime("99991231235959Z")),
            subject,
            subjectKey);
    try {
      b.addExtension(Extension.basicConstraints, true, constraints);
      b.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          new SubjectKeyIdentifier(keyIdentifier(subjectKey)));
      b.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          new AuthorityKeyIdentifier(keyIdentifier(issuerKey)));
      return b.build(new DeterministicP256Signer(signer)).getEncoded();
    } catch (IOException e) {
      throw new IllegalStateException("CA certificate encoding failed", e);
    }
  }

  private static void require(DerivedKey key, Purpose purpose) {
    if (key.request().purpose() != purpose || key.algorithm() != KeyAlgorithm.P256) {
      throw new IllegalArgumentException(
          "expected a " + purpose.label() + "/p256 key, got " + key.request());
    }
  }

  /**
   * ECDSA P-256 / SHA-256 with RFC 6979 nonces (BouncyCastle lightweight API): same key + message →
   * same bytes.
   */
  static final class DeterministicP256Signer implements ContentSigner {
    private final DerivedKey key;
    private final ByteArrayOutputStream tbs = new ByteArrayOutputStream();

    DeterministicP256Signer(DerivedKey key) {
      this.key = key;
    }

    @Override
    public AlgorithmIdentifier getAlgorithmIdentifier() {
      return ECDSA_SHA256;
    }

    @Override
    public OutputStream getOutputStream() {
      return tbs;
    }

    @Override
    public byte[] getSignature() {
      return key.p256Signer().signDer(tbs.toByteArray());
    }
  }
}
