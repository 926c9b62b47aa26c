package org.teekms.attest.sim;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Enumerated;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.teekms.attest.tdx.TeeType;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralRequest;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.Bytes;

/**
 * A simulated Intel TDX platform for tests and development: a generated "SIMULATED" Intel SGX root
 * CA, PCK platform CA, TCB signing certificate and PCK leaf (with a real SGX extension: PPID,
 * FMSPC, TCB components, PCE-ID), a simulated quoting enclave, structurally real v4 quotes, and
 * matching collateral (TCB info, QE identity, CRLs, issuer chains). The DCAP verifier accepts these
 * quotes only when its trust anchor is {@link #rootCertificate()}: against Intel's root they fail
 * the PCK chain check.
 *
 * <p>Never enabled implicitly: {@link #enable} must be called with a reason, and logs a warning
 * saying that nothing attested by it is hardware-backed.
 */
public final class SimulatedTdx {
  private static final System.Logger LOG = System.getLogger(SimulatedTdx.class.getName());
  private static final HexFormat HEX = HexFormat.of();
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Intel's QE vendor id, as in every real quote. */
  static final byte[] INTEL_QE_VENDOR_ID = HEX.parseHex("939a7233f79c4ca9940a0db3957f0607");

  /** "SIM" + zeros: an FMSPC no real platform has. */
  public static final String FMSPC = "53494d000000";

  static final int QE_ISVPRODID = 2;
  static final int QE_ISVSVN = 4;
  static final byte[] QE_ATTRIBUTES = HEX.parseHex("11000000000000000000000000000000");
  static final int[] SGX_COMPONENTS = {3, 3, 2, 2, 2, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
  static final int PCE_SVN = 13;

  /** TEE_TCB_SVN: TDX module SVN 5, module major version 1 ("TDX_01"), then the SEAM loader etc. */
  static final byte[] TEE_TCB_SVN = HEX.parseHex("05010300000000000000000000000000");

  /**
   * The PKI validity of a seeded simulator: fixed, so that every process derives byte-identical
   * certificates.
   */
  private static final Instant SEEDED_NOT_BEFORE = Instant.parse("2020-01-01T00:00:00Z");

  private static final Instant SEEDED_NOT_AFTER = Instant.parse("2099-12-31T23:59:59Z");

  private final Clock clock;
  private final SecureRandom random;
  private final KeyPair rootKeys;
  private final KeyPair pckCaKeys;
  private final KeyPair tcbSigningKeys;
  private final KeyPair pckKeys;
  private final KeyPair attestationKeys;
  private final X509Certificate root;
  private final X509Certificate pckCa;
  private final X509Certificate tcbSigning;
  private final X509Certificate pck;
  private final byte[] ppid = new byte[16];
  private final byte[] qeMrSigner;
  private final byte[] mrSeam;
  private final byte[] userData = new byte[20];
  private final byte[] certificationData;

  private SimulatedTdx(Clock clock, SecureRandom random, boolean seeded) {
    this.clock = clock;
    this.random = random;
    rootKeys = RawEcdsa.newP256(random);
    pckCaKeys = RawEcdsa.newP256(random);
    tcbSigningKeys = RawEcdsa.newP256(random);
    pckKeys = RawEcdsa.newP256(random);
    attestationKeys = RawEcdsa.newP256(random);
    random.nextBytes(ppid);
    random.nextBytes(userData);
    qeMrSigner = sha("SIMULATED quoting enclave signer", "SHA-256");
    mrSeam = sha("SIMULATED TDX module", "SHA-384");
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Instant from = seeded ? SEEDED_NOT_BEFORE : now.minus(Duration.ofDays(365));
    Instant to = seeded ? SEEDED_NOT_AFTER : now.plus(Duration.ofDays(365 * 20));
    try {
      X500Name rootName = name("SIMULATED Intel SGX Root CA");
      root = cert(rootName, rootName, rootKeys, rootKeys, from, to, true, null);
      pckCa =
          cert(
              name("SIMULATED Intel SGX PCK Platform CA"),
              rootName,
              pckCaKeys,
              rootKeys,
              from,
              to,
              true,
              null);
      tcbSigning =
          cert(
              name("SIMULATED Intel SGX TCB Signing"),
              rootName,
              tcbSigningKeys,
              rootKeys,
              from,
              to,
              false,
              null);
      pck =
          cert(
              name("SIMULATED Intel SGX PCK Certificate"),
              name("SIMULATED Intel SGX PCK Platform CA"),
              pckKeys,
              pckCaKeys,
              from,
              to,
              false,
              sgxExtension());
    } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("building the simulated Intel PKI failed", e);
    }
    certificationData = qeCertificationData();
  }

  /**
   * Where this simulator's classes were loaded from (its jar, or classes directory in a build), for
   * a process that hands the simulator to a packaged KMS ({@code teekms.simulator.classpath}).
   */
  public static java.nio.file.Path codeLocation() {
    try {
      return java.nio.file.Path.of(
          SimulatedTdx.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(
          "the simulator's code location is not a path: " + e.getMessage(), e);
    }
  }

  /**
   * Turns the simulator on. Everything it attests is fake: it must only ever be trusted by
   * verifiers configured with its own root, in tests and local development.
   */
  public static SimulatedTdx enable(String reason, Clock clock) {
    Objects.requireNonNull(reason, "say why the TDX simulator is enabled");
    LOG.log(
        System.Logger.Level.WARNING,
        "SIMULATED TDX ENABLED ("
            + reason
            + "): quotes come from a software "
            + "simulator under a generated SIMULATED root CA, not from Intel hardware. Never trust them in production.");
    return new SimulatedTdx(clock, new SecureRandom(), false);
  }

  /**
   * Turns on a simulator whose whole PKI (keys, certificates, PPID) is derived from {@code seed}:
   * separate processes (a guest agent quoting, a KMS verifying) given the same seed share the same
   * SIMULATED root. The seed is a development setting, not a secret worth protecting: anyone who
   * has it can forge simulated quotes.
   */
  public static SimulatedTdx enableSeeded(String reason, Clock clock, byte[] seed) {
    Objects.requireNonNull(reason, "say why the TDX simulator is enabled");
    LOG.log(
        System.Logger.Level.WARNING,
        "SIMULATED TDX ENABLED from a seed ("
            + reason
            + "): quotes come from a "
            + "software simulator under a generated SIMULATED root CA, not from Intel hardware. Never trust them in "
            + "production.");
    try {
      SecureRandom deterministic = SecureRandom.getInstance("SHA1PRNG");
      deterministic.setSeed(
          shaBytes("SHA-256", "tee-kms simulated TDX v1".getBytes(StandardCharsets.UTF_8), seed));
      return new SimulatedTdx(clock, deterministic, true);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA1PRNG is a mandatory JDK algorithm", e);
    }
  }

  /**
   * A collateral source for verifiers that trust this simulator: current collateral (UpToDate) for
   * TDX or SGX quotes as requested, regenerated when the clock reaches half its 30-day validity.
   */
  public CollateralSource collateralSource() {
    return new CollateralSource() {
      private Collateral current;
      private Instant renewAt = Instant.MIN;

      private Collateral currentSgx;
      private Instant renewSgxAt = Instant.MIN;

      @Override
      public synchronized Collateral fetch(CollateralRequest request) {
        Instant now = clock.instant();
        if (request.teeType() == TeeType.SGX) {
          if (currentSgx == null || !now.isBefore(renewSgxAt)) {
            currentSgx = sgxCollateral().toCollateral();
            renewSgxAt = now.plus(Duration.ofDays(15));
          }
          return currentSgx;
        }
        if (current == null || !now.isBefore(renewAt)) {
          current = collateral().toCollateral();
          renewAt = now.plus(Duration.ofDays(15));
        }
        return current;
      }
    };
  }

  public Clock clock() {
    return clock;
  }

  /**
   * The simulated "Intel SGX Root CA": the only trust anchor under which simulated quotes verify.
   */
  public X509Certificate rootCertificate() {
    return root;
  }

  public String rootCertificatePem() {
    return pem(List.of(root));
  }

  public X509Certificate pckCertificate() {
    return pck;
  }

  public byte[] ppid() {
    return ppid.clone();
  }

  /** Collateral valid from a day ago for 30 days, platform TCB UpToDate. */
  public SimulatedCollateral collateral() {
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    return collateral(
        now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(30)), "UpToDate", List.of());
  }

  /**
   * Collateral issued at {@code issueDate} and valid until {@code nextUpdate} (TCB info, QE
   * identity and both CRLs), with the platform's TDX TCB level given {@code tcbStatus} and {@code
   * advisoryIds}.
   */
  public SimulatedCollateral collateral(
      Instant issueDate, Instant nextUpdate, String tcbStatus, List<String> advisoryIds) {
    String issue = issueDate.truncatedTo(ChronoUnit.SECONDS).toString();
    String next = nextUpdate.truncatedTo(ChronoUnit.SECONDS).toString();
    String tcbDate =
        issueDate.minus(Duration.ofDays(30)).truncatedTo(ChronoUnit.SECONDS).toString();
    return signedCollateral(
        json(tcbInfo(issue, next, tcbDate, tcbStatus, advisoryIds)),
        json(qeIdentity("TD_QE", issue, next, tcbDate)),
        issueDate,
        nextUpdate);
  }

  /**
   * SGX collateral (TCB info id "SGX", QE identity "QE") of this platform, valid from a day ago for
   * 30 days, UpToDate: what a verifier of {@link #sgxQuote} quotes fetches.
   */
  public SimulatedCollateral sgxCollateral() {
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Instant issueDate = now.minus(Duration.ofDays(1));
    Instant nextUpdate = now.plus(Duration.ofDays(30));
    String issue = issueDate.toString();
    String next = nextUpdate.toString();
    String tcbDate = issueDate.minus(Duration.ofDays(30)).toString();
    return signedCollateral(
        json(sgxTcbInfo(issue, next, tcbDate)),
        json(qeIdentity("QE", issue, next, tcbDate)),
        issueDate,
        nextUpdate);
  }

  private SimulatedCollateral signedCollateral(
      String tcbInfo, String qeIdentity, Instant issueDate, Instant nextUpdate) {
    try {
      return new SimulatedCollateral(
          tcbInfo,
          Bytes.copyOf(
              RawEcdsa.sign(tcbSigningKeys.getPrivate(), tcbInfo.getBytes(StandardCharsets.UTF_8))),
          pem(List.of(tcbSigning, root)),
          qeIdentity,
          Bytes.copyOf(
              RawEcdsa.sign(
                  tcbSigningKeys.getPrivate(), qeIdentity.getBytes(StandardCharsets.UTF_8))),
          pem(List.of(tcbSigning, root)),
          Bytes.copyOf(
              crl(name("SIMULATED Intel SGX PCK Platform CA"), pckCaKeys, issueDate, nextUpdate)),
          pem(List.of(pckCa, root)),
          Bytes.copyOf(crl(name("SIMULATED Intel SGX Root CA"), rootKeys, issueDate, nextUpdate)));
    } catch (IOException | OperatorCreationException e) {
      throw new IllegalStateException("signing simulated collateral failed", e);
    }
  }

  /** A new simulated TD on this platform (see {@link SimulatedCvm#boot}). */
  public SimulatedCvm newCvm(byte[] mrTd, boolean debug) {
    return new SimulatedCvm(this, mrTd, debug);
  }

  /**
   * A v4 TDX quote over {@code tdReport} (584 bytes, TD 1.0), signed by the simulated QE's
   * attestation key.
   */
  byte[] quote(byte[] tdReport) {
    if (tdReport.length != 584) {
      throw new IllegalArgumentException("TD 1.0 report body is 584 bytes");
    }
    return v4Quote(0x81, tdReport);
  }

  /**
   * A copy of {@code quote} (made by this platform, then changed in its header or body) whose
   * header and body are signed again by this platform's simulated QE. Tests that change a signed
   * field (the QE vendor id, TD attributes) use it so that verification reaches the check of that
   * field instead of stopping at the quote signature.
   */
  public byte[] resign(byte[] quote) {
    int signed;
    try {
      signed = org.teekms.attest.tdx.TdxQuote.parse(quote).signedRegion().length();
    } catch (org.teekms.attest.tdx.QuoteParseException e) {
      throw new IllegalArgumentException(
          "not a quote this simulator can re-sign: " + e.getMessage(), e);
    }
    byte[] out = quote.clone();
    byte[] signature =
        RawEcdsa.sign(attestationKeys.getPrivate(), java.util.Arrays.copyOf(quote, signed));
    System.arraycopy(signature, 0, out, signed + 4, signature.length);
    return out;
  }

  /**
   * A v4 SGX quote of a (simulated) enclave on this platform: the 384-byte enclave report carries
   * {@code mrEnclave}, {@code mrSigner} and {@code reportData} (64 bytes), attributes without
   * DEBUG; signed by the same simulated QE as this platform's TDX quotes, so both carry the same QE
   * id (header user data).
   */
  public byte[] sgxQuote(byte[] mrEnclave, byte[] mrSigner, byte[] reportData) {
    if (mrEnclave.length != 32 || mrSigner.length != 32 || reportData.length != 64) {
      throw new IllegalArgumentException("MRENCLAVE and MRSIGNER are 32 bytes, REPORTDATA 64");
    }
    ByteBuffer report = le(384);
    for (int svn : SGX_COMPONENTS) {
      report.put((byte) svn); // CPUSVN
    }
    report
        .putInt(0)
        .put(new byte[28])
        .put(HEX.parseHex("05000000000000000700000000000000")); // INIT|MODE64BIT
    report.put(mrEnclave).put(new byte[32]).put(mrSigner).put(new byte[96]);
    report.putShort((short) 0).putShort((short) 1).put(new byte[60]).put(reportData);
    return v4Quote(0x00, report.array());
  }

  private byte[] v4Quote(int teeType, byte[] body) {
    ByteBuffer header = le(48);
    header
        .putShort((short) 4)
        .putShort((short) 2)
        .putInt(teeType)
        .putShort((short) 0)
        .putShort((short) 0)
        .put(INTEL_QE_VENDOR_ID)
        .put(userData);
    byte[] signature = RawEcdsa.sign(attestationKeys.getPrivate(), header.array(), body);
    ByteBuffer q = le(48 + body.length + 4 + 64 + 64 + 2 + 4 + certificationData.length);
    q.put(header.array()).put(body);
    q.putInt(64 + 64 + 2 + 4 + certificationData.length);
    q.put(signature).put(RawEcdsa.rawPublicKey(attestationKeys));
    q.putShort((short) 6).putInt(certificationData.length).put(certificationData);
    return q.array();
  }

  byte[] teeTcbSvn() {
    return TEE_TCB_SVN.clone();
  }

  byte[] mrSeam() {
    return mrSeam.clone();
  }

  /**
   * QE report (signed by the PCK key, binding the attestation key), QE auth data, and the PCK chain
   * (type 5).
   */
  private byte[] qeCertificationData() {
    byte[] authData = new byte[32];
    for (int i = 0; i < 32; i++) {
      authData[i] = (byte) i;
    }
    byte[] reportData = new byte[64];
    System.arraycopy(
        shaBytes("SHA-256", RawEcdsa.rawPublicKey(attestationKeys), authData),
        0,
        reportData,
        0,
        32);
    ByteBuffer report = le(384);
    report.put(new byte[16]); // CPUSVN
    report.putInt(0); // MISCSELECT
    report.put(new byte[28]);
    report.put(QE_ATTRIBUTES);
    report.put(sha("SIMULATED quoting enclave", "SHA-256")); // MRENCLAVE
    report.put(new byte[32]);
    report.put(qeMrSigner);
    report.put(new byte[96]);
    report.putShort((short) QE_ISVPRODID).putShort((short) QE_ISVSVN);
    report.put(new byte[60]);
    report.put(reportData);
    byte[] qeReport = report.array();
    byte[] qeReportSignature = RawEcdsa.sign(pckKeys.getPrivate(), qeReport);
    byte[] chain = pem(List.of(pck, pckCa, root)).getBytes(StandardCharsets.US_ASCII);
    ByteBuffer b = le(384 + 64 + 2 + authData.length + 2 + 4 + chain.length);
    b.put(qeReport).put(qeReportSignature).putShort((short) authData.length).put(authData);
    b.putShort((short) 5).putInt(chain.length).put(chain);
    return b.array();
  }

  private ObjectNode tcbInfo(
      String issue, String next, String tcbDate, String status, List<String> advisories) {
    ObjectNode t = JSON.createObjectNode();
    t.put("id", "TDX")
        .put("version", 3)
        .put("issueDate", issue)
        .put("nextUpdate", next)
        .put("fmspc", FMSPC)
        .put("pceId", "0000")
        .put("tcbType", 0)
        .put("tcbEvaluationDataNumber", 17);
    String zeros48 = "0".repeat(96);
    t.putObject("tdxModule")
        .put("mrsigner", zeros48)
        .put("attributes", "0000000000000000")
        .put("attributesMask", "FFFFFFFFFFFFFFFF");
    ObjectNode module = t.putArray("tdxModuleIdentities").addObject();
    module
        .put("id", String.format("TDX_%02X", TEE_TCB_SVN[1]))
        .put("mrsigner", zeros48)
        .put("attributes", "0000000000000000")
        .put("attributesMask", "FFFFFFFFFFFFFFFF");
    ObjectNode moduleLevel = module.putArray("tcbLevels").addObject();
    moduleLevel.putObject("tcb").put("isvsvn", TEE_TCB_SVN[0] & 0xff);
    moduleLevel.put("tcbDate", tcbDate).put("tcbStatus", "UpToDate");
    ObjectNode level = t.putArray("tcbLevels").addObject();
    ObjectNode tcb = sgxPlatformTcb(level);
    ArrayNode tdx = tcb.putArray("tdxtcbcomponents");
    for (byte svn : TEE_TCB_SVN) {
      tdx.addObject().put("svn", svn & 0xff);
    }
    level.put("tcbDate", tcbDate).put("tcbStatus", status);
    if (!advisories.isEmpty()) {
      ArrayNode ids = level.putArray("advisoryIDs");
      advisories.forEach(ids::add);
    }
    return t;
  }

  /** SGX TCB info: one platform level over the PCK's SGX components and PCESVN, no TDX fields. */
  private ObjectNode sgxTcbInfo(String issue, String next, String tcbDate) {
    ObjectNode t = JSON.createObjectNode();
    t.put("id", "SGX")
        .put("version", 3)
        .put("issueDate", issue)
        .put("nextUpdate", next)
        .put("fmspc", FMSPC)
        .put("pceId", "0000")
        .put("tcbType", 0)
        .put("tcbEvaluationDataNumber", 17);
    ObjectNode level = t.putArray("tcbLevels").addObject();
    sgxPlatformTcb(level);
    level.put("tcbDate", tcbDate).put("tcbStatus", "UpToDate");
    return t;
  }

  /**
   * The level's {@code tcb} with the PCK's SGX components and PCESVN (shared by the TDX and SGX TCB
   * infos).
   */
  private static ObjectNode sgxPlatformTcb(ObjectNode level) {
    ObjectNode tcb = level.putObject("tcb");
    ArrayNode sgx = tcb.putArray("sgxtcbcomponents");
    for (int svn : SGX_COMPONENTS) {
      sgx.addObject().put("svn", svn);
    }
    tcb.put("pcesvn", PCE_SVN);
    return tcb;
  }

  private ObjectNode qeIdentity(String id, String issue, String next, String tcbDate) {
    ObjectNode q = JSON.createObjectNode();
    q.put("id", id)
        .put("version", 2)
        .put("issueDate", issue)
        .put("nextUpdate", next)
        .put("tcbEvaluationDataNumber", 17)
        .put("miscselect", "00000000")
        .put("miscselectMask", "FFFFFFFF")
        .put("attributes", "11000000000000000000000000000000")
        .put("attributesMask", "FBFFFFFFFFFFFFFF0000000000000000")
        .put("mrsigner", HEX.withUpperCase().formatHex(qeMrSigner))
        .put("isvprodid", QE_ISVPRODID);
    ObjectNode level = q.putArray("tcbLevels").addObject();
    level.putObject("tcb").put("isvsvn", QE_ISVSVN);
    level.put("tcbDate", tcbDate).put("tcbStatus", "UpToDate");
    return q;
  }

  private DERSequence sgxExtension() {
    ASN1ObjectIdentifier sgx = new ASN1ObjectIdentifier("1.2.840.113741.1.13.1");
    ASN1ObjectIdentifier tcbOid = sgx.branch("2");
    ASN1EncodableVector tcb = new ASN1EncodableVector();
    for (int i = 0; i < 16; i++) {
      tcb.add(
          new DERSequence(
              new org.bouncycastle.asn1.ASN1Encodable[] {
                tcbOid.branch(Integer.toString(i + 1)), new ASN1Integer(SGX_COMPONENTS[i])
              }));
    }
    tcb.add(
        new DERSequence(
            new org.bouncycastle.asn1.ASN1Encodable[] {
              tcbOid.branch("17"), new ASN1Integer(PCE_SVN)
            }));
    byte[] cpuSvn = new byte[16];
    for (int i = 0; i < 16; i++) {
      cpuSvn[i] = (byte) SGX_COMPONENTS[i];
    }
    tcb.add(
        new DERSequence(
            new org.bouncycastle.asn1.ASN1Encodable[] {
              tcbOid.branch("18"), new DEROctetString(cpuSvn)
            }));
    ASN1EncodableVector v = new ASN1EncodableVector();
    v.add(pair(sgx.branch("1"), new DEROctetString(ppid)));
    v.add(pair(tcbOid, new DERSequence(tcb)));
    v.add(pair(sgx.branch("3"), new DEROctetString(new byte[2])));
    v.add(pair(sgx.branch("4"), new DEROctetString(HEX.parseHex(FMSPC))));
    v.add(pair(sgx.branch("5"), new ASN1Enumerated(0)));
    return new DERSequence(v);
  }

  private static DERSequence pair(
      ASN1ObjectIdentifier oid, org.bouncycastle.asn1.ASN1Encodable value) {
    return new DERSequence(new org.bouncycastle.asn1.ASN1Encodable[] {oid, value});
  }

  private X509Certificate cert(
      X500Name subject,
      X500Name issuer,
      KeyPair subjectKeys,
      KeyPair issuerKeys,
      Instant from,
      Instant to,
      boolean ca,
      DERSequence sgxExtension)
      throws IOException, GeneralSecurityException, OperatorCreationException {
    X509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            issuer,
            new BigInteger(64, random).add(BigInteger.ONE),
            Date.from(from),
            Date.from(to),
            subject,
            subjectKeys.getPublic());
    JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
    b.addExtension(
        Extension.subjectKeyIdentifier,
        false,
        utils.createSubjectKeyIdentifier(subjectKeys.getPublic()));
    b.addExtension(
        Extension.authorityKeyIdentifier,
        false,
        utils.createAuthorityKeyIdentifier(issuerKeys.getPublic()));
    b.addExtension(
        Extension.basicConstraints,
        true,
        ca ? new BasicConstraints(0) : new BasicConstraints(false));
    b.addExtension(
        Extension.keyUsage,
        true,
        new KeyUsage(
            ca
                ? KeyUsage.keyCertSign | KeyUsage.cRLSign
                : KeyUsage.digitalSignature | KeyUsage.nonRepudiation));
    if (sgxExtension != null) {
      b.addExtension(new ASN1ObjectIdentifier("1.2.840.113741.1.13.1"), false, sgxExtension);
    }
    return new JcaX509CertificateConverter()
        .setProvider(RawEcdsa.BC)
        .getCertificate(b.build(signer(issuerKeys)));
  }

  private byte[] crl(X500Name issuer, KeyPair issuerKeys, Instant thisUpdate, Instant nextUpdate)
      throws IOException, OperatorCreationException {
    X509v2CRLBuilder b = new X509v2CRLBuilder(issuer, Date.from(thisUpdate));
    b.setNextUpdate(Date.from(nextUpdate));
    b.addExtension(Extension.cRLNumber, false, new ASN1Integer(1));
    X509CRLHolder crl = b.build(signer(issuerKeys));
    return crl.getEncoded();
  }

  /**
   * ecdsa-with-SHA256 with deterministic nonces (RFC 6979), so a seeded simulator's certificates
   * are reproducible.
   */
  private static ContentSigner signer(KeyPair keys) {
    java.io.ByteArrayOutputStream tbs = new java.io.ByteArrayOutputStream();
    return new ContentSigner() {
      @Override
      public org.bouncycastle.asn1.x509.AlgorithmIdentifier getAlgorithmIdentifier() {
        return new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
            org.bouncycastle.asn1.x9.X9ObjectIdentifiers.ecdsa_with_SHA256);
      }

      @Override
      public java.io.OutputStream getOutputStream() {
        return tbs;
      }

      @Override
      public byte[] getSignature() {
        try {
          java.security.Signature sig =
              java.security.Signature.getInstance("SHA256withECDDSA", RawEcdsa.BC);
          sig.initSign(keys.getPrivate());
          sig.update(tbs.toByteArray());
          return sig.sign();
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException(e);
        }
      }
    };
  }

  private static X500Name name(String cn) {
    return new X500Name(
        "CN=" + cn + ",O=SIMULATED by tee-kms (not Intel),L=Santa Clara,ST=CA,C=US");
  }

  static String pem(List<X509Certificate> certs) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      for (X509Certificate c : certs) {
        w.writeObject(c);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toString();
  }

  private static String json(ObjectNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  static byte[] sha(String text, String algorithm) {
    return shaBytes(algorithm, text.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] shaBytes(String algorithm, byte[]... parts) {
    try {
      MessageDigest md = MessageDigest.getInstance(algorithm);
      for (byte[] p : parts) {
        md.update(p);
      }
      return md.digest();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
