package org.teekms.attest.ratls;

import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.x509.Certificate;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.ratls.RaTlsException.Reason;
import org.teekms.crypto.Bytes;

/**
 * Extracts (but does not verify) the evidence of an RA-TLS certificate. Every extension has a size
 * limit checked before its content is decoded; nothing is decompressed. Critical extensions other
 * than the basic X.509 ones are refused, since no PKIX validation runs on an RA-TLS certificate to
 * honour them.
 */
public final class RaTlsCertificateParser {
  public static final int MAX_CERTIFICATE_BYTES = 640 * 1024;
  public static final int MAX_QUOTE_BYTES = 32 * 1024;
  public static final int MAX_EVENT_LOG_BYTES = 256 * 1024;
  public static final int MAX_GPU_EVIDENCE_BYTES = 256 * 1024;

  /**
   * dstack's vm_config with its measurement document (checksum file + CBOR): a few KiB in practice.
   */
  public static final int MAX_VM_CONFIG_BYTES = 64 * 1024;

  private static final int MAX_VERSION_BYTES = 16;

  /** Overhead of the DER OCTET STRING wrapping an extension's content. */
  private static final int WRAPPING = 8;

  private static final Set<ASN1ObjectIdentifier> ALLOWED_CRITICAL =
      Set.of(Extension.basicConstraints, Extension.keyUsage, Extension.extendedKeyUsage);

  private RaTlsCertificateParser() {}

  public static RaTlsEvidence parse(X509Certificate certificate) throws RaTlsException {
    try {
      return parse(certificate.getEncoded());
    } catch (CertificateEncodingException e) {
      throw new RaTlsException(Reason.MALFORMED_CERTIFICATE, "cannot encode certificate", e);
    }
  }

  public static RaTlsEvidence parse(byte[] der) throws RaTlsException {
    if (der.length > MAX_CERTIFICATE_BYTES) {
      throw new RaTlsException(
          Reason.OVERSIZED_EXTENSION,
          "certificate is " + der.length + " bytes, limit " + MAX_CERTIFICATE_BYTES);
    }
    Certificate cert;
    try {
      cert = Certificate.getInstance(ASN1Primitive.fromByteArray(der));
    } catch (IOException | RuntimeException e) {
      throw new RaTlsException(Reason.MALFORMED_CERTIFICATE, "not a DER X.509 certificate");
    }
    if (cert == null) { // BouncyCastle answers null, not an exception, for empty input
      throw new RaTlsException(Reason.MALFORMED_CERTIFICATE, "not a DER X.509 certificate (empty)");
    }
    Extensions extensions = cert.getTBSCertificate().getExtensions();
    if (extensions == null) {
      throw new RaTlsException(
          Reason.MALFORMED_CERTIFICATE, "certificate has no extensions (no TDX quote)");
    }
    for (ASN1ObjectIdentifier oid : extensions.getCriticalExtensionOIDs()) {
      if (!ALLOWED_CRITICAL.contains(oid)) {
        throw new RaTlsException(
            Reason.MALFORMED_CERTIFICATE, "unsupported critical extension " + oid);
      }
    }
    byte[] quote =
        octets(extensions, RaTlsOids.TDX_QUOTE, "TDX quote", MAX_QUOTE_BYTES)
            .orElseThrow(
                () ->
                    new RaTlsException(
                        Reason.MALFORMED_CERTIFICATE,
                        "no TDX quote extension " + RaTlsOids.TDX_QUOTE));
    byte[] eventLog =
        octets(extensions, RaTlsOids.EVENT_LOG, "event log", MAX_EVENT_LOG_BYTES)
            .orElseThrow(
                () ->
                    new RaTlsException(
                        Reason.MALFORMED_CERTIFICATE,
                        "no event log extension " + RaTlsOids.EVENT_LOG));
    Optional<byte[]> gpu =
        octets(extensions, RaTlsOids.GPU_EVIDENCE, "GPU evidence", MAX_GPU_EVIDENCE_BYTES);
    Optional<byte[]> vmConfig =
        octets(extensions, RaTlsOids.VM_CONFIG, "vm_config", MAX_VM_CONFIG_BYTES);
    int version = 0;
    Extension v = extensions.getExtension(RaTlsOids.FORMAT_VERSION);
    if (v != null) {
      byte[] raw = v.getExtnValue().getOctets();
      if (raw.length > MAX_VERSION_BYTES) {
        throw new RaTlsException(Reason.OVERSIZED_EXTENSION, "format version extension too large");
      }
      try {
        version = ASN1Integer.getInstance(ASN1Primitive.fromByteArray(raw)).intValueExact();
      } catch (IOException | RuntimeException e) {
        throw new RaTlsException(
            Reason.MALFORMED_CERTIFICATE, "format version is not a small INTEGER");
      }
      if (version != RaTlsCertificateFactory.FORMAT_VERSION) {
        throw new RaTlsException(
            Reason.MALFORMED_CERTIFICATE, "unsupported RA-TLS format version " + version);
      }
    }
    byte[] spki;
    try {
      spki = cert.getSubjectPublicKeyInfo().getEncoded("DER");
    } catch (IOException e) {
      throw new RaTlsException(Reason.MALFORMED_CERTIFICATE, "cannot encode the public key");
    }
    return new RaTlsEvidence(
        Bytes.copyOf(quote),
        Bytes.copyOf(eventLog),
        gpu.map(Bytes::copyOf),
        version,
        Bytes.copyOf(spki),
        vmConfig.map(Bytes::copyOf));
  }

  private static Optional<byte[]> octets(
      Extensions extensions, ASN1ObjectIdentifier oid, String what, int limit)
      throws RaTlsException {
    Extension ext = extensions.getExtension(oid);
    if (ext == null) {
      return Optional.empty();
    }
    byte[] raw = ext.getExtnValue().getOctets();
    if (raw.length > limit + WRAPPING) {
      throw new RaTlsException(
          Reason.OVERSIZED_EXTENSION,
          what + " extension is " + raw.length + " bytes, limit " + limit);
    }
    byte[] content;
    try {
      content = ASN1OctetString.getInstance(ASN1Primitive.fromByteArray(raw)).getOctets();
    } catch (IOException | RuntimeException e) {
      throw new RaTlsException(
          Reason.MALFORMED_CERTIFICATE, what + " extension is not a DER OCTET STRING");
    }
    if (content.length > limit) {
      throw new RaTlsException(
          Reason.OVERSIZED_EXTENSION, what + " is " + content.length + " bytes, limit " + limit);
    }
    if (content.length == 0) {
      throw new RaTlsException(Reason.MALFORMED_CERTIFICATE, what + " extension is empty");
    }
    return Optional.of(content);
  }

  static {
    if (MAX_EVENT_LOG_BYTES > DstackEventLogCodec.MAX_LOG_BYTES) {
      throw new AssertionError("event log extension limit above the codec's limit");
    }
  }
}
