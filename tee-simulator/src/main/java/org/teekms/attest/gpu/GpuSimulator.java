package org.teekms.attest.gpu;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import javax.xml.crypto.dsig.CanonicalizationMethod;
import javax.xml.crypto.dsig.DigestMethod;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.SignedInfo;
import javax.xml.crypto.dsig.Transform;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMSignContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfoFactory;
import javax.xml.crypto.dsig.spec.C14NMethodParameterSpec;
import javax.xml.crypto.dsig.spec.TransformParameterSpec;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERTaggedObject;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.teekms.crypto.Bytes;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * SIMULATED NVIDIA GPUs, for development and tests without Hopper hardware. It generates its own
 * "SIMULATED" device identity root, per-GPU device and attestation-key certificates (with an FWID
 * extension), reports in exactly the Hopper layout signed by those keys, and a matching driver +
 * VBIOS RIM pair signed under its own "SIMULATED" RIM root. Its evidence verifies only under {@link
 * #deviceRoot()} / {@link #rimRoot()}, never under NVIDIA's roots. Creating one logs a warning;
 * nothing it produces is evidence of anything.
 */
public final class GpuSimulator {
  private static final System.Logger LOG = System.getLogger(GpuSimulator.class.getName());
  public static final String DRIVER_VERSION = "550.90.07";

  /** The VBIOS_VERSION opaque bytes; formatted "96.00.9f.00.01". */
  private static final byte[] VBIOS_BYTES = HexFormat.of().parseHex("009f009601000000");

  public static final String VBIOS_VERSION = "96.00.9f.00.01";
  private static final String PROJECT = "1010";
  private static final String PROJECT_SKU = "0200";
  private static final String CHIP_SKU = "882";
  private static final int BLOCKS = 64;

  /**
   * 0-based indexes the simulated driver RIM covers; the VBIOS RIM covers the other non-zero ones.
   */
  private static final Set<Integer> DRIVER_INDEXES =
      Set.of(7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 30, 31);

  private static final Set<Integer> VBIOS_INDEXES = Set.of(1, 2, 3, 4, 5, 6, 9, 27, 28, 32, 33, 34);
  private static final Date NOT_BEFORE = Date.from(Instant.parse("2020-01-01T00:00:00Z"));
  private static final Date NOT_AFTER = Date.from(Instant.parse("9999-12-31T23:59:59Z"));

  private final SecureRandom random;
  private final KeyPair rootKey;
  private final X509Certificate root;
  private final KeyPair identityKey;
  private final X509Certificate identity;
  private final KeyPair provisionerKey;
  private final X509Certificate provisioner;
  private final List<Device> devices;
  private final byte[][] measurements;
  private final X509Certificate rimRoot;
  private final List<X509Certificate> rimSignerChain;
  private final KeyPair rimSignerKey;
  private final KeyPair rimRootKey;
  private final KeyPair rimCaKey;

  /** One simulated GPU: its device-identity and attestation keys. */
  record Device(
      KeyPair bromKey, X509Certificate brom, KeyPair akKey, X509Certificate ak, Bytes fwid) {}

  private GpuSimulator(int gpus, java.util.function.Function<String, SecureRandom> randoms)
      throws GeneralSecurityException {
    // Each part draws from its own generator, so seeded simulators with different GPU counts share
    // their roots,
    // RIMs and the first GPUs (a KMS and a CVM started with one seed verify each other).
    this.random = randoms.apply("reports");
    SecureRandom random = randoms.apply("roots");
    rootKey = newKey(random);
    root =
        cert(
            random,
            "CN=SIMULATED NVIDIA Device Identity CA,O=SIMULATED",
            rootKey,
            null,
            rootKey,
            true,
            null);
    identityKey = newKey(random);
    identity =
        cert(
            random,
            "CN=SIMULATED NVIDIA GH100 Identity,O=SIMULATED",
            identityKey,
            root,
            rootKey,
            true,
            null);
    provisionerKey = newKey(random);
    provisioner =
        cert(
            random,
            "CN=SIMULATED NVIDIA GH100 Provisioner ICA 1,O=SIMULATED",
            provisionerKey,
            identity,
            identityKey,
            true,
            null);
    List<Device> ds = new ArrayList<>();
    for (int i = 0; i < gpus; i++) {
      random = randoms.apply("gpu " + i);
      KeyPair bromKey = newKey(random);
      X509Certificate brom =
          cert(
              random,
              "CN=SIMULATED GH100 A01 GSP BROM,O=SIMULATED,SERIALNUMBER=" + i,
              bromKey,
              provisioner,
              provisionerKey,
              true,
              null);
      byte[] fwid = new byte[48];
      random.nextBytes(fwid);
      KeyPair akKey = newKey(random);
      X509Certificate ak =
          cert(
              random,
              "CN=SIMULATED GH100 A01 GSP FMC LF,O=SIMULATED,SERIALNUMBER=" + i,
              akKey,
              brom,
              bromKey,
              false,
              fwid);
      ds.add(new Device(bromKey, brom, akKey, ak, Bytes.copyOf(fwid)));
    }
    devices = List.copyOf(ds);
    random = randoms.apply("measurements");
    measurements = new byte[BLOCKS][];
    for (int i = 0; i < BLOCKS; i++) {
      measurements[i] = new byte[48];
      if (DRIVER_INDEXES.contains(i) || VBIOS_INDEXES.contains(i)) {
        random.nextBytes(measurements[i]);
      }
    }
    random = randoms.apply("rims");
    rimRootKey = newKey(random);
    rimRoot =
        cert(
            random,
            "CN=SIMULATED NVIDIA CoRIM signing Root CA,O=SIMULATED",
            rimRootKey,
            null,
            rimRootKey,
            true,
            null);
    rimCaKey = newKey(random);
    X509Certificate rimCa =
        cert(
            random,
            "CN=SIMULATED NVIDIA Reference Value GH100 CA,O=SIMULATED",
            rimCaKey,
            rimRoot,
            rimRootKey,
            true,
            null);
    rimSignerKey = newKey(random);
    X509Certificate rimSigner =
        cert(
            random,
            "CN=SIMULATED HCC RIM L4 Signer,O=SIMULATED",
            rimSignerKey,
            rimCa,
            rimCaKey,
            false,
            null);
    rimSignerChain = List.of(rimSigner, rimCa, rimRoot);
  }

  /**
   * Creates {@code gpus} simulated GPUs under fresh simulated roots. This is the only way to enable
   * simulation, and it says so in the log every time.
   */
  public static GpuSimulator create(int gpus, SecureRandom random) {
    if (gpus < 1 || gpus > GpuEvidence.MAX_GPUS) {
      throw new IllegalArgumentException("1.." + GpuEvidence.MAX_GPUS + " simulated GPUs");
    }
    LOG.log(
        System.Logger.Level.WARNING,
        "SIMULATED GPU evidence enabled ("
            + gpus
            + " GPUs): reports are signed by "
            + "a generated SIMULATED root, prove nothing, and never verify under NVIDIA's roots. Never use in production.");
    try {
      return new GpuSimulator(gpus, label -> random);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate simulated GPU keys", e);
    }
  }

  /**
   * Like {@link #create}, but every key, certificate, measurement and RIM is derived from {@code
   * seed} (at least 16 bytes): processes given the same seed get the same simulated roots and the
   * same first GPUs, whatever their GPU counts. A KMS given the seed accepts evidence from CVMs
   * given it; nothing else does.
   */
  public static GpuSimulator seeded(int gpus, byte[] seed) {
    if (gpus < 1 || gpus > GpuEvidence.MAX_GPUS) {
      throw new IllegalArgumentException("1.." + GpuEvidence.MAX_GPUS + " simulated GPUs");
    }
    if (seed == null || seed.length < 16) {
      throw new IllegalArgumentException("a simulated GPU seed has at least 16 bytes");
    }
    byte[] s = seed.clone();
    LOG.log(
        System.Logger.Level.WARNING,
        "SIMULATED GPU evidence enabled ("
            + gpus
            + " GPUs, seeded): reports are "
            + "signed by a generated SIMULATED root, prove nothing, and never verify under NVIDIA's roots.");
    try {
      return new GpuSimulator(gpus, label -> seededRandom(s, label));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate simulated GPU keys", e);
    }
  }

  /**
   * A deterministic generator for {@code label}: SHA1PRNG seeded (before first use) with
   * SHA-256(seed ‖ label).
   */
  private static SecureRandom seededRandom(byte[] seed, String label) {
    try {
      java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
      sha.update(seed);
      sha.update(label.getBytes(StandardCharsets.UTF_8));
      SecureRandom r = SecureRandom.getInstance("SHA1PRNG", "SUN");
      r.setSeed(sha.digest());
      return r;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no SHA1PRNG", e);
    }
  }

  public X509Certificate deviceRoot() {
    return root;
  }

  public X509Certificate rimRoot() {
    return rimRoot;
  }

  public int gpuCount() {
    return devices.size();
  }

  /** GPU i's chain, leaf first, root included (5 certificates, like NVIDIA's). */
  public List<X509Certificate> chain(int gpu) {
    Device d = devices.get(gpu);
    return List.of(d.ak(), d.brom(), provisioner, identity, root);
  }

  /** Evidence for every simulated GPU, each report made for {@code nonce}. */
  public GpuEvidence evidence(byte[] nonce) {
    List<GpuEvidence.Device> out = new ArrayList<>();
    for (int i = 0; i < devices.size(); i++) {
      try {
        out.add(
            new GpuEvidence.Device(
                Bytes.copyOf(report(i, nonce)), GpuEvidenceSupport.der(chain(i))));
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }
    return new GpuEvidence(GpuArchitecture.HOPPER, out);
  }

  /**
   * A signed report of GPU {@code gpu} in the Hopper layout (SPDM GET_MEASUREMENTS request ‖
   * MEASUREMENTS response).
   */
  public byte[] report(int gpu, byte[] nonce) {
    return report(gpu, nonce, devices.get(gpu).fwid().toByteArray(), DRIVER_VERSION);
  }

  /** Test hook: a correctly signed report that claims another FWID or driver version. */
  byte[] report(int gpu, byte[] nonce, byte[] fwid, String driverVersion) {
    if (nonce.length != HopperReportParser.NONCE_LENGTH) {
      throw new IllegalArgumentException("nonce must be 32 bytes");
    }
    Device d = devices.get(gpu);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {0x11, (byte) 0xE0, 0x01, (byte) 0xFF});
    out.writeBytes(nonce);
    out.write(0); // slot
    out.writeBytes(new byte[] {0x11, 0x60, 0x00, 0x00, (byte) BLOCKS});
    int record = BLOCKS * (4 + 3 + 48);
    out.writeBytes(new byte[] {(byte) record, (byte) (record >> 8), (byte) (record >> 16)});
    for (int i = 0; i < BLOCKS; i++) {
      out.writeBytes(new byte[] {(byte) (i + 1), 0x01, 51, 0, 0x01, 48, 0});
      out.writeBytes(measurements[i]);
    }
    byte[] responderNonce = new byte[32];
    random.nextBytes(responderNonce);
    out.writeBytes(responderNonce);
    ByteArrayOutputStream opaque = new ByteArrayOutputStream();
    tlv(opaque, HopperReport.VBIOS_VERSION, VBIOS_BYTES);
    tlv(opaque, HopperReport.CHIP_SKU, (CHIP_SKU + "\0").getBytes(StandardCharsets.US_ASCII));
    tlv(opaque, HopperReport.PROJECT, (PROJECT + "\0").getBytes(StandardCharsets.US_ASCII));
    tlv(opaque, HopperReport.PROJECT_SKU, (PROJECT_SKU + "\0").getBytes(StandardCharsets.US_ASCII));
    tlv(
        opaque,
        HopperReport.DRIVER_VERSION,
        (driverVersion + "\0").getBytes(StandardCharsets.US_ASCII));
    tlv(opaque, HopperReport.NVDEC0_STATUS, new byte[] {0x55});
    tlv(opaque, HopperReport.FWID, fwid);
    byte[] o = opaque.toByteArray();
    out.writeBytes(new byte[] {(byte) o.length, (byte) (o.length >> 8)});
    out.writeBytes(o);
    byte[] signed = out.toByteArray();
    try {
      Signature s = Signature.getInstance("SHA384withPLAIN-ECDSA", CertChainValidator.BC);
      s.initSign(d.akKey().getPrivate(), random);
      s.update(signed);
      out.writeBytes(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  private static void tlv(ByteArrayOutputStream out, int type, byte[] value) {
    out.writeBytes(
        new byte[] {
          (byte) type, (byte) (type >> 8), (byte) value.length, (byte) (value.length >> 8)
        });
    out.writeBytes(value);
  }

  /** The simulated driver RIM (SWID tag XML, signed under {@link #rimRoot()}). */
  public byte[] driverRim() {
    return rim(DRIVER_VERSION, DRIVER_INDEXES);
  }

  /** The simulated VBIOS RIM. */
  public byte[] vbiosRim() {
    return rim(VBIOS_VERSION.toUpperCase(java.util.Locale.ROOT), VBIOS_INDEXES);
  }

  /** File names a RIM store expects for {@link #driverRim()} and {@link #vbiosRim()}. */
  public static final String DRIVER_RIM_FILE =
      "Driver_RIM_SIMULATED_" + DRIVER_VERSION + ".swidtag";

  public static final String VBIOS_RIM_FILE =
      PROJECT + "_" + PROJECT_SKU + "_" + CHIP_SKU + "_96009F0001_SIMULATED.swidtag";

  /** Writes both RIMs into {@code dir} under the names a {@link RimStore} selects. */
  public void writeRims(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.write(dir.resolve(DRIVER_RIM_FILE), driverRim());
    Files.write(dir.resolve(VBIOS_RIM_FILE), vbiosRim());
  }

  private byte[] rim(String version, Set<Integer> activeIndexes) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      Document doc = f.newDocumentBuilder().newDocument();
      Element root = doc.createElementNS(RimVerifier.SWID_NS, "SoftwareIdentity");
      // Declare namespaces explicitly, so the signed DOM and its serialization canonicalize the
      // same.
      root.setAttributeNS("http://www.w3.org/2000/xmlns/", "xmlns", RimVerifier.SWID_NS);
      root.setAttributeNS("http://www.w3.org/2000/xmlns/", "xmlns:ns2", RimVerifier.SHA384_NS);
      root.setAttribute("name", "GH100");
      root.setAttribute("tagId", "SIMULATED-" + version);
      root.setAttribute("version", "1.0");
      doc.appendChild(root);
      Element entity = doc.createElementNS(RimVerifier.SWID_NS, "Entity");
      entity.setAttribute("name", "SIMULATED (not NVIDIA)");
      entity.setAttribute("role", "softwareCreator tagCreator");
      root.appendChild(entity);
      Element meta = doc.createElementNS(RimVerifier.SWID_NS, "Meta");
      meta.setAttribute("colloquialVersion", version);
      meta.setAttribute("product", "GH100");
      root.appendChild(meta);
      Element payload = doc.createElementNS(RimVerifier.SWID_NS, "Payload");
      root.appendChild(payload);
      for (int i = 0; i < BLOCKS; i++) {
        Element r = doc.createElementNS(RimVerifier.SWID_NS, "Resource");
        r.setAttribute("type", "Measurement");
        r.setAttribute("index", Integer.toString(i));
        r.setAttribute("active", activeIndexes.contains(i) ? "True" : "False");
        r.setAttribute("alternatives", "1");
        r.setAttribute("size", "48");
        r.setAttribute("name", "Measurement_" + i);
        r.setAttributeNS(
            RimVerifier.SHA384_NS, "ns2:Hash0", HexFormat.of().formatHex(measurements[i]));
        payload.appendChild(r);
      }
      XMLSignatureFactory xf = XMLSignatureFactory.getInstance("DOM");
      Reference ref =
          xf.newReference(
              "",
              xf.newDigestMethod(DigestMethod.SHA384, null),
              List.of(
                  xf.newTransform(Transform.ENVELOPED, (TransformParameterSpec) null),
                  xf.newTransform(
                      CanonicalizationMethod.INCLUSIVE_11, (TransformParameterSpec) null)),
              null,
              null);
      SignedInfo si =
          xf.newSignedInfo(
              xf.newCanonicalizationMethod(
                  CanonicalizationMethod.INCLUSIVE_11, (C14NMethodParameterSpec) null),
              xf.newSignatureMethod("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", null),
              Collections.singletonList(ref));
      KeyInfoFactory kif = xf.getKeyInfoFactory();
      PrivateKey signingKey = rimSignerKey.getPrivate();
      xf.newXMLSignature(
              si, kif.newKeyInfo(List.of(kif.newX509Data(new ArrayList<Object>(rimSignerChain)))))
          .sign(new DOMSignContext(signingKey, root));
      StringWriter w = new StringWriter();
      javax.xml.transform.Transformer t = TransformerFactory.newInstance().newTransformer();
      t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
      t.transform(new DOMSource(doc), new StreamResult(w));
      return w.toString().getBytes(StandardCharsets.UTF_8);
    } catch (Exception e) {
      throw new IllegalStateException("cannot build a simulated RIM", e);
    }
  }

  private static KeyPair newKey(SecureRandom random) throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC", CertChainValidator.BC);
    g.initialize(new ECGenParameterSpec("secp384r1"), random);
    return g.generateKeyPair();
  }

  private X509Certificate cert(
      SecureRandom random,
      String subject,
      KeyPair key,
      X509Certificate issuer,
      KeyPair issuerKey,
      boolean ca,
      byte[] fwid)
      throws GeneralSecurityException {
    try {
      X500Name issuerName =
          issuer == null
              ? new X500Name(subject)
              : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              issuerName,
              new BigInteger(63, random).add(BigInteger.ONE),
              NOT_BEFORE,
              NOT_AFTER,
              new X500Name(subject),
              key.getPublic());
      if (ca) {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(
            Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      }
      if (fwid != null) {
        // TCG DICE TcbInfo with one FWID (SHA-384): its DER ends with the 48 FWID bytes, as
        // NVIDIA's does.
        DERSequence fwidEntry =
            new DERSequence(
                new ASN1Encodable[] {NISTObjectIdentifiers.id_sha384, new DEROctetString(fwid)});
        b.addExtension(
            new ASN1ObjectIdentifier("2.23.133.5.4.1"),
            false,
            new DERSequence(new DERTaggedObject(false, 6, new DERSequence(fwidEntry))));
      }
      return new JcaX509CertificateConverter()
          .setProvider(CertChainValidator.BC)
          .getCertificate(
              b.build(
                  new JcaContentSignerBuilder("SHA384withECDSA")
                      .setProvider(CertChainValidator.BC)
                      .setSecureRandom(random)
                      .build(issuerKey.getPrivate())));
    } catch (Exception e) {
      throw new GeneralSecurityException("cannot issue simulated certificate " + subject, e);
    }
  }

  /** The key of a simulated CA certificate: tests use it to answer OCSP as the issuer. */
  KeyPair caKey(X509Certificate cert) {
    if (cert.equals(root)) {
      return rootKey;
    }
    if (cert.equals(identity)) {
      return identityKey;
    }
    if (cert.equals(provisioner)) {
      return provisionerKey;
    }
    for (Device d : devices) {
      if (cert.equals(d.brom())) {
        return d.bromKey();
      }
    }
    throw new IllegalArgumentException("not a simulated CA: " + cert.getSubjectX500Principal());
  }

  /**
   * The key of any simulated CA or RIM certificate (device CAs, RIM root, RIM CA), for test OCSP
   * responders.
   */
  KeyPair caKeyOrRim(X509Certificate cert) {
    if (cert.equals(rimRoot)) {
      return rimRootKey;
    }
    if (cert.equals(rimSignerChain.get(1))) {
      return rimCaKey;
    }
    return caKey(cert);
  }

  /**
   * Test hook: changes measurement block {@code index} of every later report (firmware the RIMs do
   * not describe).
   */
  void tamperMeasurement(int index) {
    measurements[index][0] ^= 0x01;
  }

  /** The RIM signer chain (signer, CA, root). */
  List<X509Certificate> rimSignerChain() {
    return rimSignerChain;
  }

  /** Test hook: the FWID bytes for GPU i. */
  byte[] fwid(int gpu) {
    return devices.get(gpu).fwid().toByteArray();
  }
}
