package org.teekms.attest.tdx;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * PEM and DER decoding of certificates and CRLs, strict about the blocks and tolerant of
 * surrounding bytes.
 */
public final class Pem {
  private static final String BEGIN_CERT = "-----BEGIN CERTIFICATE-----";
  private static final String END_CERT = "-----END CERTIFICATE-----";
  private static final String BEGIN_CRL = "-----BEGIN X509 CRL-----";
  private static final String END_CRL = "-----END X509 CRL-----";

  private Pem() {}

  /**
   * Every certificate block in {@code pem}, in order. Bytes outside blocks (e.g. a trailing NUL)
   * are ignored.
   */
  public static List<X509Certificate> certificates(byte[] pem) throws CertificateException {
    String text = new String(pem, StandardCharsets.ISO_8859_1);
    List<X509Certificate> out = new ArrayList<>();
    int from = 0;
    while (true) {
      int begin = text.indexOf(BEGIN_CERT, from);
      if (begin < 0) {
        break;
      }
      // after the whole BEGIN line: its last dashes may start an END line
      int end = text.indexOf(END_CERT, begin + BEGIN_CERT.length());
      if (end < 0) {
        throw new CertificateException(
            "PEM certificate block " + (out.size() + 1) + " has no END line");
      }
      out.add(certificate(base64(text.substring(begin + BEGIN_CERT.length(), end), "certificate")));
      from = end + END_CERT.length();
    }
    if (out.isEmpty()) {
      throw new CertificateException("no PEM certificate found");
    }
    return List.copyOf(out);
  }

  /**
   * The PCK chain of a quote, in the one encoding a quoting enclave produces: PEM blocks with
   * 64-column base64 lines, each line ending in '\n', back to back, optionally followed by a single
   * NUL. Anything else is rejected, so that no two byte strings in a quote stand for the same chain
   * (a changed byte can never leave the quote valid).
   */
  public static List<X509Certificate> strictCertificateChain(byte[] pem)
      throws CertificateException {
    List<X509Certificate> certs = certificates(pem);
    StringBuilder canonical = new StringBuilder();
    for (X509Certificate c : certs) {
      canonical.append(encode(c));
    }
    byte[] expected = canonical.toString().getBytes(StandardCharsets.US_ASCII);
    int length = pem.length > 0 && pem[pem.length - 1] == 0 ? pem.length - 1 : pem.length;
    if (length != expected.length
        || !java.util.Arrays.equals(pem, 0, length, expected, 0, length)) {
      throw new CertificateException("PCK certificate chain is not in canonical PEM form");
    }
    return certs;
  }

  /** One certificate as a PEM block with 64-column lines and '\n' line ends. */
  public static String encode(X509Certificate cert) {
    try {
      return encode("CERTIFICATE", cert.getEncoded());
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * DER as one RFC 7468 PEM block ({@code label}: "CERTIFICATE", "PRIVATE KEY", …): 64-column
   * base64 lines, each line (the BEGIN and END lines too) ending in '\n'. The one PEM encoder of
   * tee-kms.
   */
  public static String encode(String label, byte[] der) {
    return "-----BEGIN "
        + label
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + label
        + "-----\n";
  }

  public static List<X509Certificate> certificates(String pem) throws CertificateException {
    return certificates(pem.getBytes(StandardCharsets.ISO_8859_1));
  }

  public static X509Certificate certificate(byte[] der) throws CertificateException {
    try {
      return (X509Certificate) factory().generateCertificate(new ByteArrayInputStream(der));
    } catch (
        RuntimeException e) { // the JDK parser throws unchecked exceptions on some malformed input
      throw new CertificateException("malformed certificate: " + e, e);
    }
  }

  /** A CRL given as DER, or as PEM text. */
  public static X509CRL crl(byte[] derOrPem) throws CertificateException {
    byte[] der = derOrPem;
    String text = new String(derOrPem, StandardCharsets.ISO_8859_1);
    int begin = text.indexOf(BEGIN_CRL);
    if (begin >= 0) {
      int end = text.indexOf(END_CRL, begin + BEGIN_CRL.length());
      if (end < 0) {
        throw new CertificateException("PEM CRL block has no END line");
      }
      der = base64(text.substring(begin + BEGIN_CRL.length(), end), "CRL");
    }
    try {
      return (X509CRL) factory().generateCRL(new ByteArrayInputStream(der));
    } catch (java.security.cert.CRLException | RuntimeException e) {
      throw new CertificateException("malformed CRL: " + e.getMessage(), e);
    }
  }

  private static byte[] base64(String body, String what) throws CertificateException {
    try {
      return Base64.getMimeDecoder().decode(body.strip());
    } catch (IllegalArgumentException e) {
      throw new CertificateException("PEM " + what + " is not valid base64", e);
    }
  }

  private static CertificateFactory factory() throws CertificateException {
    return CertificateFactory.getInstance("X.509");
  }
}
