package org.teekms.attest.ratls;

import java.util.Arrays;
import java.util.Optional;

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
    byte[] quote,
    byte[] eventLogJson,
    Optional<byte[]> gpuEvidence,
    int formatVersion,
    byte[] spki,
    Optional<byte[]> vmConfig) {

  /** Evidence without a vm_config. */
  public RaTlsEvidence(
      byte[] quote,
      byte[] eventLogJson,
      Optional<byte[]> gpuEvidence,
      int formatVersion,
      byte[] spki) {
    this(quote, eventLogJson, gpuEvidence, formatVersion, spki, Optional.empty());
  }

  public RaTlsEvidence {
    quote = quote.clone();
    eventLogJson = eventLogJson.clone();
    gpuEvidence = gpuEvidence.map(byte[]::clone);
    spki = spki.clone();
    vmConfig = vmConfig.map(byte[]::clone);
  }

  @Override
  public Optional<byte[]> vmConfig() {
    return vmConfig.map(byte[]::clone);
  }

  @Override
  public byte[] quote() {
    return quote.clone();
  }

  @Override
  public byte[] eventLogJson() {
    return eventLogJson.clone();
  }

  @Override
  public Optional<byte[]> gpuEvidence() {
    return gpuEvidence.map(byte[]::clone);
  }

  @Override
  public byte[] spki() {
    return spki.clone();
  }

  private Object[] values() {
    return new Object[] {
      quote, eventLogJson, gpuEvidence.orElse(null), formatVersion, spki, vmConfig.orElse(null)
    };
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RaTlsEvidence e && Arrays.deepEquals(values(), e.values());
  }

  @Override
  public int hashCode() {
    return Arrays.deepHashCode(values());
  }
}
