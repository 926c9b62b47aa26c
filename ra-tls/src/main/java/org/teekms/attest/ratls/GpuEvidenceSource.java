package org.teekms.attest.ratls;

/**
 * Collects GPU evidence for a new RA-TLS key: the evidence's nonce must be derived from that key's
 * SubjectPublicKeyInfo (docs/ra-tls.md, "GPU evidence"). Returns the encoded evidence for the certificate extension.
 */
public interface GpuEvidenceSource {
  byte[] collect(byte[] subjectPublicKeyInfoDer) throws Exception;
}
