package org.teekms.attest.gpu;

import static org.teekms.attest.gpu.GpuAttestationException.Reason.RIM_INVALID;

import java.io.ByteArrayInputStream;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.crypto.KeySelector;
import javax.xml.crypto.dsig.CanonicalizationMethod;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.Transform;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.crypto.dsig.keyinfo.X509Data;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.teekms.crypto.Bytes;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Verifies and parses NVIDIA RIMs: ISO/IEC 19770-2 SWID tags with an enveloped XML-DSig signature
 * (ECDSA, SHA-2) whose KeyInfo carries the signer chain. Uses the JDK's {@code javax.xml.crypto}
 * with secure validation, and a DOM parser with DTDs, external entities and XInclude disabled. The
 * signature must cover the whole document ({@code Reference URI=""}, enveloped transform) and be
 * the only signature, so the measurements read afterwards are exactly the signed ones. The last
 * embedded certificate is dropped when it is a root: trust comes only from the configured RIM root.
 */
public final class RimVerifier {
  public static final String SWID_NS = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd";
  public static final String SHA384_NS = "http://www.w3.org/2001/04/xmlenc#sha384";
  public static final int MAX_RIM_BYTES = 1024 * 1024;
  private static final int MAX_ALTERNATIVES = 16;
  private static final int MAX_INDEX = 255;
  private static final Set<String> SIGNATURE_METHODS =
      Set.of(
          "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
          "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
          "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512");
  private static final Set<String> DIGEST_METHODS =
      Set.of(
          "http://www.w3.org/2001/04/xmlenc#sha256",
          "http://www.w3.org/2001/04/xmldsig-more#sha384",
          "http://www.w3.org/2001/04/xmlenc#sha512");
  private static final Set<String> TRANSFORMS =
      Set.of(
          Transform.ENVELOPED,
          CanonicalizationMethod.INCLUSIVE,
          CanonicalizationMethod.INCLUSIVE_11,
          CanonicalizationMethod.EXCLUSIVE);
  private static final Pattern VBIOS_VERSION = Pattern.compile("[0-9a-f]{2}(\\.[0-9a-f]{2}){4}");
  private static final Pattern DRIVER_VERSION = Pattern.compile("[0-9]{1,4}(\\.[0-9]{1,4}){1,3}");

  private static final DocumentBuilderFactory DOCUMENTS = secureFactory();
  private static final XMLSignatureFactory SIGNATURES = XMLSignatureFactory.getInstance("DOM");

  private static final KeySelector NO_KEY =
      new KeySelector() {
        @Override
        public javax.xml.crypto.KeySelectorResult select(
            javax.xml.crypto.dsig.keyinfo.KeyInfo keyInfo,
            Purpose purpose,
            javax.xml.crypto.AlgorithmMethod method,
            javax.xml.crypto.XMLCryptoContext context)
            throws javax.xml.crypto.KeySelectorException {
          throw new javax.xml.crypto.KeySelectorException("no key selected yet");
        }
      };

  private RimVerifier() {}

  /**
   * Parses {@code xml}, checks its XML signature with the leaf of the embedded chain and that
   * chain's signatures up to {@code rimRoot}. Validity at a time is left to the caller ({@link
   * Rim#signerChain()}).
   */
  public static Rim verify(byte[] xml, X509Certificate rimRoot, String name)
      throws GpuAttestationException {
    if (xml.length > MAX_RIM_BYTES) {
      throw invalid(name, "is " + xml.length + " bytes (limit " + MAX_RIM_BYTES + ")");
    }
    Document doc;
    try {
      DocumentBuilder builder;
      synchronized (DOCUMENTS) { // factories are not specified to be thread-safe
        builder = DOCUMENTS.newDocumentBuilder();
      }
      builder.setErrorHandler(null);
      doc = builder.parse(new ByteArrayInputStream(xml));
    } catch (Exception e) {
      throw invalid(name, "is not well-formed XML (or uses a DTD/entity): " + e.getMessage());
    }
    Element root = doc.getDocumentElement();
    if (!SWID_NS.equals(root.getNamespaceURI())
        || !"SoftwareIdentity".equals(root.getLocalName())) {
      throw invalid(name, "root element is not a SWID SoftwareIdentity");
    }
    List<X509Certificate> signers = verifySignature(doc, root, name);
    if (signers.size() > 1
        && CertChainValidator.sameCertificate(signers.get(signers.size() - 1), rimRoot)) {
      signers = signers.subList(0, signers.size() - 1);
    } else if (signers.size() > 1 && isSelfSigned(signers.get(signers.size() - 1))) {
      // An embedded root other than ours: drop it, the chain must then link to the configured root.
      signers = signers.subList(0, signers.size() - 1);
    }
    CertChainValidator.VerifiedChain chain;
    try {
      chain = CertChainValidator.verifySignatures(signers, rimRoot, "RIM " + name + " signer");
    } catch (GpuAttestationException e) {
      throw new GpuAttestationException(RIM_INVALID, e.detail(), e);
    }
    return parseContent(root, name, chain);
  }

  private static List<X509Certificate> verifySignature(Document doc, Element root, String name)
      throws GpuAttestationException {
    NodeList sigs = doc.getElementsByTagNameNS(XMLSignature.XMLNS, "Signature");
    if (sigs.getLength() != 1) {
      throw invalid(name, "has " + sigs.getLength() + " XML signatures, expected exactly 1");
    }
    Element sigElement = (Element) sigs.item(0);
    if (sigElement.getParentNode() != root) {
      throw invalid(name, "XML signature is not a child of the document element");
    }
    try {
      // Unmarshal first to read the embedded chain; the key is chosen afterwards from its leaf.
      DOMValidateContext ctx = new DOMValidateContext(NO_KEY, sigElement);
      ctx.setProperty("org.jcp.xml.dsig.secureValidation", Boolean.TRUE);
      XMLSignature signature = SIGNATURES.unmarshalXMLSignature(ctx);
      String method = signature.getSignedInfo().getSignatureMethod().getAlgorithm();
      if (!SIGNATURE_METHODS.contains(method)) {
        throw invalid(
            name, "uses signature method " + method + " (only ECDSA with SHA-2 is accepted)");
      }
      List<?> refs = signature.getSignedInfo().getReferences();
      if (refs.size() != 1) {
        throw invalid(name, "signature has " + refs.size() + " references, expected exactly 1");
      }
      Reference ref = (Reference) refs.get(0);
      if (!"".equals(ref.getURI())) {
        throw invalid(
            name,
            "signature reference URI is '" + ref.getURI() + "', expected \"\" (whole document)");
      }
      if (!DIGEST_METHODS.contains(ref.getDigestMethod().getAlgorithm())) {
        throw invalid(name, "uses digest " + ref.getDigestMethod().getAlgorithm());
      }
      boolean enveloped = false;
      for (Object t : ref.getTransforms()) {
        String alg = ((Transform) t).getAlgorithm();
        if (!TRANSFORMS.contains(alg)) {
          throw invalid(name, "uses transform " + alg);
        }
        enveloped |= Transform.ENVELOPED.equals(alg);
      }
      if (!enveloped) {
        throw invalid(name, "signature is not enveloped");
      }
      List<X509Certificate> certs = new ArrayList<>();
      if (signature.getKeyInfo() != null) {
        for (Object content : signature.getKeyInfo().getContent()) {
          if (content instanceof X509Data data) {
            for (Object o : data.getContent()) {
              if (o instanceof X509Certificate c) {
                certs.add(c);
              }
            }
          }
        }
      }
      if (certs.isEmpty() || certs.size() > CertChainValidator.MAX_CHAIN_LENGTH) {
        throw invalid(name, "KeyInfo carries " + certs.size() + " certificates");
      }
      DOMValidateContext check =
          new DOMValidateContext(
              KeySelector.singletonKeySelector(certs.get(0).getPublicKey()), sigElement);
      check.setProperty("org.jcp.xml.dsig.secureValidation", Boolean.TRUE);
      // The document digest first: both it and the signature value must hold, and a document whose
      // content changed fails the digest without the ECDSA verification (half the cost of a RIM
      // check, measured by the rimXml fuzz target; docs/reliability.md). validate() reuses it.
      if (!ref.validate(check)) {
        throw invalid(name, "XML signature does not verify (document digest bad)");
      }
      if (!signature.validate(check)) {
        boolean sigOk = signature.getSignatureValue().validate(check);
        boolean refOk = ref.validate(check);
        throw invalid(
            name,
            "XML signature does not verify (signature value "
                + (sigOk ? "ok" : "bad")
                + ", document digest "
                + (refOk ? "ok" : "bad")
                + ")");
      }
      return certs;
    } catch (GpuAttestationException e) {
      throw e;
    } catch (Exception e) {
      throw invalid(name, "XML signature cannot be checked: " + e);
    }
  }

  private static Rim parseContent(Element root, String name, CertChainValidator.VerifiedChain chain)
      throws GpuAttestationException {
    String product = root.getAttribute("name");
    Element meta = single(root, "Meta", name);
    String version = meta.getAttribute("colloquialVersion").trim().toLowerCase(Locale.ROOT);
    Rim.Kind kind;
    if (VBIOS_VERSION.matcher(version).matches()) {
      kind = Rim.Kind.VBIOS;
    } else if (DRIVER_VERSION.matcher(version).matches()) {
      kind = Rim.Kind.DRIVER;
    } else {
      throw invalid(
          name, "colloquialVersion '" + version + "' is neither a driver nor a VBIOS version");
    }
    Element payload = single(root, "Payload", name);
    List<Rim.GoldenMeasurement> measurements = new ArrayList<>();
    java.util.Set<Integer> indexes = new java.util.HashSet<>();
    NodeList resources = payload.getElementsByTagNameNS(SWID_NS, "Resource");
    for (int i = 0; i < resources.getLength(); i++) {
      Element r = (Element) resources.item(i);
      if (!"Measurement".equals(r.getAttribute("type"))) {
        continue;
      }
      int index = intAttr(r, "index", 0, MAX_INDEX, name);
      if (!indexes.add(index)) {
        throw invalid(name, "measurement index " + index + " appears twice");
      }
      String active = r.getAttribute("active");
      if (!active.equalsIgnoreCase("true") && !active.equalsIgnoreCase("false")) {
        throw invalid(name, "measurement " + index + " has active='" + active + "'");
      }
      int alternatives = intAttr(r, "alternatives", 1, MAX_ALTERNATIVES, name);
      int size = intAttr(r, "size", 1, 64, name);
      List<Bytes> values = new ArrayList<>(alternatives);
      for (int a = 0; a < alternatives; a++) {
        if (!r.hasAttributeNS(SHA384_NS, "Hash" + a)) {
          throw invalid(
              name,
              "measurement "
                  + index
                  + " lacks Hash"
                  + a
                  + " of its "
                  + alternatives
                  + " alternatives");
        }
        String hex = r.getAttributeNS(SHA384_NS, "Hash" + a);
        byte[] value;
        try {
          value = HexFormat.of().parseHex(hex);
        } catch (IllegalArgumentException e) {
          throw invalid(name, "measurement " + index + " Hash" + a + " is not hex");
        }
        if (value.length != size) {
          throw invalid(
              name,
              "measurement "
                  + index
                  + " Hash"
                  + a
                  + " is "
                  + value.length
                  + " bytes, size says "
                  + size);
        }
        values.add(Bytes.copyOf(value));
      }
      measurements.add(
          new Rim.GoldenMeasurement(index, active.equalsIgnoreCase("true"), size, values));
    }
    if (measurements.isEmpty()) {
      throw invalid(name, "has no measurements");
    }
    return new Rim(name, kind, product, version, measurements, chain);
  }

  private static Element single(Element root, String localName, String name)
      throws GpuAttestationException {
    NodeList list = root.getElementsByTagNameNS(SWID_NS, localName);
    if (list.getLength() != 1) {
      throw invalid(name, "has " + list.getLength() + " " + localName + " elements, expected 1");
    }
    return (Element) list.item(0);
  }

  private static int intAttr(Element e, String attr, int min, int max, String name)
      throws GpuAttestationException {
    String v = e.getAttribute(attr);
    try {
      int i = Integer.parseInt(v);
      if (i >= min && i <= max) {
        return i;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw invalid(
        name, "attribute " + attr + "='" + v + "' is not an integer in " + min + ".." + max);
  }

  private static boolean isSelfSigned(X509Certificate c) {
    return c.getSubjectX500Principal().equals(c.getIssuerX500Principal());
  }

  private static GpuAttestationException invalid(String name, String message) {
    return new GpuAttestationException(RIM_INVALID, "RIM " + name + " " + message);
  }

  private static DocumentBuilderFactory secureFactory() {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setFeature("http://xml.org/sax/features/external-general-entities", false);
      f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
      f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
      f.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
      f.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
      f.setXIncludeAware(false);
      f.setExpandEntityReferences(false);
      return f;
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException("XML parser lacks secure-processing features", e);
    }
  }
}
