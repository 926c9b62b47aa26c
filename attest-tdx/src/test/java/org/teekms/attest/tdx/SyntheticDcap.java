package org.teekms.attest.tdx;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Enumerated;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.SignedJson;
import org.teekms.crypto.Bytes;

/**
 * Test helper: a complete synthetic DCAP world under its own root CA (no Intel key involved): PCK
 * chain with the SGX extension, TCB signing certificate, CRLs, signed TCB info and QE identity, and
 * TDX v4 quotes. Each knob changes one thing so tests can exercise one rule at a time.
 */
final class SyntheticDcap {
  static final Instant NOW = Instant.parse("2030-01-15T00:00:00Z");
  static final String FMSPC = "00112233aabb";
  static final byte[] QE_MRSIGNER = new byte[32];
  static final byte[] SEAM_SIGNER = new byte[48];

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final HexFormat HEX = HexFormat.of();

  final KeyPair rootKey = ec();
  final KeyPair pckCaKey = ec();
  final KeyPair pckKey = ec();
  final KeyPair tcbSigningKey = ec();
  final KeyPair attestationKey = ec();
  final X509Certificate root;
  final X509Certificate pckCa;
  X509Certificate tcbSigning;
  X509Certificate pck;

  // knobs
  int[] pckCpuSvn = {5, 5, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
  int pckPceSvn = 13;
  byte[] teeTcbSvn = HEX.parseHex("05000300000000000000000000000000");
  long tdAttributes = 1L << 28; // SEPT_VE_DISABLE
  byte[] mrSignerSeam = SEAM_SIGNER;
  int qeIsvSvn = 8;
  byte[] qeMrSigner = QE_MRSIGNER;
  boolean corruptQeReportData;

  /** Sets a byte of the QE report data's second half, which must be zero. */
  boolean nonZeroQeReportDataTail;

  byte[] qeVendorId = DcapQuoteVerifier.INTEL_QE_VENDOR_ID.toByteArray();

  /**
   * The QE report's MISCSELECT, ATTRIBUTES and ISVPRODID (the QE identity expects 0, 11 00…, 2).
   */
  int qeMiscSelect;

  byte[] qeAttributes = HEX.parseHex("11000000000000000000000000000000");
  int qeIsvProdId = 2;

  /** The PCK leaf's notAfter (the other certificates run to 2040). */
  Instant pckNotAfter = Instant.parse("2040-01-01T00:00:00Z");

  Set<BigInteger> revokedByPckCa = Set.of();
  Set<BigInteger> revokedByRoot = Set.of();

  /** TCB levels as JSON array text; {@link #level} builds entries. */
  String tcbLevels =
      "["
          + level(
              new int[] {5, 5, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0},
              13,
              new int[] {5, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
              "UpToDate")
          + "]";

  /** The TD report's SEAMATTRIBUTES (the TCB info's tdxModule expects zero under mask FF…). */
  byte[] seamAttributes = new byte[8];

  /** The PCK CRL's nextUpdate (the root CA CRL's stays 2030-02-01). */
  Instant pckCrlNextUpdate = Instant.parse("2030-02-01T00:00:00Z");

  /**
   * What the TCB info and QE identity say they are for (the quote's platform and QE by default).
   */
  String tcbInfoFmspc = FMSPC.toUpperCase();

  String tcbInfoPceId = "0000";
  String qeIdentityId = "TD_QE";
  int qeIdentityVersion = 2;

  /** Extra members for the TCB info, e.g. {@code ,"tdxModuleIdentities":[…]}. */
  String moduleIdentities = "";

  String qeLevels =
      "[{\"tcb\":{\"isvsvn\":8},\"tcbDate\":\"2029-01-01T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},"
          + "{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2028-01-01T00:00:00Z\",\"tcbStatus\":\"OutOfDate\","
          + "\"advisoryIDs\":[\"INTEL-SA-00615\"]}]";

  SyntheticDcap() throws Exception {
    root =
        cert(
            "CN=Synthetic Root CA",
            rootKey,
            "CN=Synthetic Root CA",
            rootKey.getPrivate(),
            true,
            null);
    pckCa =
        cert(
            "CN=Synthetic PCK Platform CA",
            pckCaKey,
            "CN=Synthetic Root CA",
            rootKey.getPrivate(),
            true,
            null);
    tcbSigning =
        cert(
            "CN=Synthetic TCB Signing",
            tcbSigningKey,
            "CN=Synthetic Root CA",
            rootKey.getPrivate(),
            false,
            null);
  }

  static String level(int[] sgx, int pceSvn, int[] tdx, String status, String... advisories) {
    StringBuilder sb = new StringBuilder("{\"tcb\":{\"sgxtcbcomponents\":[");
    for (int i = 0; i < 16; i++) {
      sb.append(i == 0 ? "" : ",").append("{\"svn\":").append(sgx[i]).append('}');
    }
    sb.append("],\"pcesvn\":").append(pceSvn).append(",\"tdxtcbcomponents\":[");
    for (int i = 0; i < 16; i++) {
      sb.append(i == 0 ? "" : ",").append("{\"svn\":").append(tdx[i]).append('}');
    }
    sb.append("]},\"tcbDate\":\"2029-06-01T00:00:00Z\",\"tcbStatus\":\"")
        .append(status)
        .append('"');
    if (advisories.length > 0) {
      sb.append(",\"advisoryIDs\":[\"").append(String.join("\",\"", advisories)).append("\"]");
    }
    return sb.append('}').toString();
  }

  static String moduleIdentity(String id, byte[] mrSigner, int... isvSvnAndStatus) {
    StringBuilder sb =
        new StringBuilder(
            "{\"id\":\""
                + id
                + "\",\"mrsigner\":\""
                + HEX.formatHex(mrSigner)
                + "\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[");
    for (int i = 0; i < isvSvnAndStatus.length; i++) {
      sb.append(i == 0 ? "" : ",")
          .append("{\"tcb\":{\"isvsvn\":")
          .append(isvSvnAndStatus[i])
          .append("},\"tcbDate\":\"2029-01-01T00:00:00Z\",\"tcbStatus\":\"")
          .append(i == 0 ? "UpToDate\"" : "OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-01036\"]")
          .append('}');
    }
    return sb.append("]}").toString();
  }

  Collateral collateral() throws Exception {
    String tcbInfo =
        "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"2030-01-01T00:00:00Z\","
            + "\"nextUpdate\":\"2030-02-01T00:00:00Z\",\"fmspc\":\""
            + tcbInfoFmspc
            + "\",\"pceId\":\""
            + tcbInfoPceId
            + "\","
            + "\"tcbType\":0,\"tcbEvaluationDataNumber\":20,\"tdxModule\":{\"mrsigner\":\""
            + HEX.formatHex(SEAM_SIGNER)
            + "\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"}"
            + moduleIdentities
            + ",\"tcbLevels\":"
            + tcbLevels
            + "}";
    String qeIdentity =
        "{\"id\":\""
            + qeIdentityId
            + "\",\"version\":"
            + qeIdentityVersion
            + ",\"issueDate\":\"2030-01-01T00:00:00Z\","
            + "\"nextUpdate\":\"2030-02-01T00:00:00Z\",\"tcbEvaluationDataNumber\":20,\"miscselect\":\"00000000\","
            + "\"miscselectMask\":\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\","
            + "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\""
            + HEX.formatHex(QE_MRSIGNER)
            + "\",\"isvprodid\":2,\"tcbLevels\":"
            + qeLevels
            + "}";
    return new Collateral(
        new SignedJson(
            tcbInfo, Bytes.copyOf(rawSign(tcbSigningKey.getPrivate(), tcbInfo.getBytes()))),
        List.of(tcbSigning, root),
        new SignedJson(
            qeIdentity, Bytes.copyOf(rawSign(tcbSigningKey.getPrivate(), qeIdentity.getBytes()))),
        List.of(tcbSigning),
        Bytes.copyOf(
            crl(
                    "CN=Synthetic PCK Platform CA",
                    pckCaKey.getPrivate(),
                    revokedByPckCa,
                    pckCrlNextUpdate)
                .getEncoded()),
        List.of(pckCa, root),
        Bytes.copyOf(
            crl("CN=Synthetic Root CA", rootKey.getPrivate(), revokedByRoot).getEncoded()));
  }

  byte[] quote() throws Exception {
    pck =
        cert(
            "CN=Synthetic PCK Certificate",
            pckKey,
            "CN=Synthetic PCK Platform CA",
            pckCaKey.getPrivate(),
            false,
            sgxExtension(),
            pckNotAfter);
    ByteArrayOutputStream signed = new ByteArrayOutputStream();
    ByteBuffer header = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
    header
        .putShort((short) 4)
        .putShort((short) 2)
        .putInt(0x81)
        .putInt(0)
        .put(qeVendorId)
        .put(new byte[20]);
    signed.write(header.array());
    ByteBuffer body = ByteBuffer.allocate(584).order(ByteOrder.LITTLE_ENDIAN);
    body.put(teeTcbSvn)
        .put(new byte[48])
        .put(mrSignerSeam)
        .put(seamAttributes)
        .putLong(tdAttributes)
        .put(new byte[8])
        .put(filled(48, 0x11))
        .put(new byte[48 * 3])
        .put(new byte[48 * 4])
        .put(filled(64, 0x22));
    signed.write(body.array());
    byte[] signedRegion = signed.toByteArray();

    byte[] attKey = rawPublic(attestationKey);
    byte[] authData = filled(32, 0x07);
    byte[] reportData = new byte[64];
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update(attKey);
    sha.update(authData);
    System.arraycopy(sha.digest(), 0, reportData, 0, 32);
    if (corruptQeReportData) {
      reportData[0] ^= 1;
    }
    if (nonZeroQeReportDataTail) {
      reportData[40] = 1;
    }
    ByteBuffer qe = ByteBuffer.allocate(384).order(ByteOrder.LITTLE_ENDIAN);
    qe.put(new byte[16])
        .putInt(qeMiscSelect)
        .put(new byte[28])
        .put(qeAttributes)
        .put(new byte[32])
        .put(new byte[32])
        .put(qeMrSigner)
        .put(new byte[96])
        .putShort((short) qeIsvProdId)
        .putShort((short) qeIsvSvn)
        .put(new byte[60])
        .put(reportData);
    byte[] qeReport = qe.array();
    byte[] pem = (Pem.encode(pck) + Pem.encode(pckCa) + Pem.encode(root)).getBytes();

    ByteBuffer inner =
        ByteBuffer.allocate(384 + 64 + 2 + authData.length + 6 + pem.length)
            .order(ByteOrder.LITTLE_ENDIAN);
    inner
        .put(qeReport)
        .put(rawSign(pckKey.getPrivate(), qeReport))
        .putShort((short) authData.length)
        .put(authData)
        .putShort((short) 5)
        .putInt(pem.length)
        .put(pem);
    byte[] innerBytes = inner.array();
    ByteBuffer sig =
        ByteBuffer.allocate(128 + 6 + innerBytes.length).order(ByteOrder.LITTLE_ENDIAN);
    sig.put(rawSign(attestationKey.getPrivate(), signedRegion))
        .put(attKey)
        .putShort((short) 6)
        .putInt(innerBytes.length)
        .put(innerBytes);
    byte[] sigData = sig.array();
    ByteBuffer quote =
        ByteBuffer.allocate(signedRegion.length + 4 + sigData.length)
            .order(ByteOrder.LITTLE_ENDIAN);
    quote.put(signedRegion).putInt(sigData.length).put(sigData);
    return quote.array();
  }

  private DERSequence sgxExtension() {
    ASN1ObjectIdentifier sgx = new ASN1ObjectIdentifier(PckExtension.OID);
    ASN1EncodableVector tcb = new ASN1EncodableVector();
    for (int i = 0; i < 16; i++) {
      tcb.add(pair(sgx.branch("2." + (i + 1)), new ASN1Integer(pckCpuSvn[i])));
    }
    tcb.add(pair(sgx.branch("2.17"), new ASN1Integer(pckPceSvn)));
    byte[] cpuSvn = new byte[16];
    for (int i = 0; i < 16; i++) {
      cpuSvn[i] = (byte) pckCpuSvn[i];
    }
    tcb.add(pair(sgx.branch("2.18"), new DEROctetString(cpuSvn)));
    ASN1EncodableVector v = new ASN1EncodableVector();
    v.add(pair(sgx.branch("1"), new DEROctetString(filled(16, 0x42))));
    v.add(pair(sgx.branch("2"), new DERSequence(tcb)));
    v.add(pair(sgx.branch("3"), new DEROctetString(new byte[2])));
    v.add(pair(sgx.branch("4"), new DEROctetString(HEX.parseHex(FMSPC))));
    v.add(pair(sgx.branch("5"), new ASN1Enumerated(0)));
    return new DERSequence(v);
  }

  private static DERSequence pair(
      ASN1ObjectIdentifier oid, org.bouncycastle.asn1.ASN1Encodable value) {
    return new DERSequence(new org.bouncycastle.asn1.ASN1Encodable[] {oid, value});
  }

  /** Re-issues the TCB signing certificate (same key) with this notAfter. */
  void tcbSigningNotAfter(Instant notAfter) throws Exception {
    tcbSigning =
        cert(
            "CN=Synthetic TCB Signing",
            tcbSigningKey,
            "CN=Synthetic Root CA",
            rootKey.getPrivate(),
            false,
            null,
            notAfter);
  }

  /**
   * Another TCB signing certificate (same key, so it verifies the same documents; its own serial)
   * valid until {@code notAfter}.
   */
  X509Certificate tcbSigningCopy(Instant notAfter) throws Exception {
    return cert(
        "CN=Synthetic TCB Signing",
        tcbSigningKey,
        "CN=Synthetic Root CA",
        rootKey.getPrivate(),
        false,
        null,
        notAfter);
  }

  /**
   * Another PCK platform CA certificate (same key, its own serial) valid until {@code notAfter}.
   */
  X509Certificate pckCaCopy(Instant notAfter) throws Exception {
    return cert(
        "CN=Synthetic PCK Platform CA",
        pckCaKey,
        "CN=Synthetic Root CA",
        rootKey.getPrivate(),
        true,
        null,
        notAfter);
  }

  private X509Certificate cert(
      String subject,
      KeyPair key,
      String issuer,
      PrivateKey issuerKey,
      boolean ca,
      DERSequence sgxExtension)
      throws Exception {
    return cert(
        subject, key, issuer, issuerKey, ca, sgxExtension, Instant.parse("2040-01-01T00:00:00Z"));
  }

  private X509Certificate cert(
      String subject,
      KeyPair key,
      String issuer,
      PrivateKey issuerKey,
      boolean ca,
      DERSequence sgxExtension,
      Instant notAfter)
      throws Exception {
    JcaX509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            new X500Name(issuer),
            new BigInteger(64, RANDOM).add(BigInteger.ONE),
            Date.from(Instant.parse("2025-01-01T00:00:00Z")),
            Date.from(notAfter),
            new X500Name(subject),
            key.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    if (sgxExtension != null) {
      b.addExtension(new ASN1ObjectIdentifier(PckExtension.OID), false, sgxExtension);
    }
    return new JcaX509CertificateConverter().getCertificate(b.build(signer(issuerKey)));
  }

  private X509CRL crl(String issuer, PrivateKey key, Set<BigInteger> revoked) throws Exception {
    return crl(issuer, key, revoked, Instant.parse("2030-02-01T00:00:00Z"));
  }

  private X509CRL crl(String issuer, PrivateKey key, Set<BigInteger> revoked, Instant nextUpdate)
      throws Exception {
    X509v2CRLBuilder b =
        new X509v2CRLBuilder(
            new X500Name(issuer), Date.from(Instant.parse("2030-01-01T00:00:00Z")));
    b.setNextUpdate(Date.from(nextUpdate));
    for (BigInteger serial : revoked) {
      b.addCRLEntry(serial, Date.from(Instant.parse("2029-12-01T00:00:00Z")), 0);
    }
    return new JcaX509CRLConverter().getCRL(b.build(signer(key)));
  }

  private static ContentSigner signer(PrivateKey key) throws Exception {
    return new JcaContentSignerBuilder("SHA256withECDSA")
        .setProvider(CertificatePaths.bouncyCastle())
        .build(key);
  }

  static byte[] rawSign(PrivateKey key, byte[] message) throws Exception {
    Signature s = Signature.getInstance("SHA256withPLAIN-ECDSA", CertificatePaths.bouncyCastle());
    s.initSign(key);
    s.update(message);
    return s.sign();
  }

  private static byte[] rawPublic(KeyPair kp) {
    ECPublicKey pub = (ECPublicKey) kp.getPublic();
    byte[] out = new byte[64];
    byte[] x = pub.getW().getAffineX().toByteArray();
    byte[] y = pub.getW().getAffineY().toByteArray();
    int xl = Math.min(32, x.length);
    int yl = Math.min(32, y.length);
    System.arraycopy(x, x.length - xl, out, 32 - xl, xl);
    System.arraycopy(y, y.length - yl, out, 64 - yl, yl);
    return out;
  }

  private static KeyPair ec() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] filled(int n, int value) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) value);
    return b;
  }

  QuoteVerificationResult verify() throws Exception {
    return new DcapQuoteVerifier(root).verify(quote(), collateral(), NOW);
  }

  static List<Integer> list(int... v) {
    List<Integer> out = new ArrayList<>();
    for (int i : v) {
      out.add(i);
    }
    return out;
  }
}
