package org.teekms.attest.ratls;

import java.util.Optional;
import org.teekms.crypto.Bytes;

/**
 * The attestation evidence an RA-TLS certificate carries, as extracted by {@link
 * RaTlsCertificateParser} (bounded, not yet verified).
 *
 * @param quote the raw TDX quote
 * @param eventLogJson dstack's JSON event log (UTF-8)
 * @param gpuEvidence encoded GPU evidence, when the certificate carries any
 * @param formatVersion the tee-kms format version; 0 when the certificate has none (a dstack
 *     certificate)
 * @param spki the certificate's SubjectPublicKeyInfo DER (what REPORTDATA binds)
 * @param vmConfig dstack's vm_config JSON (measurement document), when the certificate carries one
 */
public record RaTlsEvidence(
    Bytes quote,
    Bytes eventLogJson,
    Optional<Bytes> gpuEvidence,
    int formatVersion,
    Bytes spki,
    Optional<Bytes> vmConfig) {

  /** Evidence without a vm_config. */
  public RaTlsEvidence(
      Bytes quote, Bytes eventLogJson, Optional<Bytes> gpuEvidence, int formatVersion, Bytes spki) {
    this(quote, eventLogJson, gpuEvidence, formatVersion, spki, Optional.empty());
  }
}
