package org.teekms.attest.ratls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Objects;

/**
 * Our RA-TLS key and certificate. The private key never leaves the CVM; {@link #toString()} does
 * not print it.
 */
public final class RaTlsCredentials {
  private final PrivateKey privateKey;
  private final X509Certificate certificate;

  public RaTlsCredentials(PrivateKey privateKey, X509Certificate certificate) {
    this.privateKey = Objects.requireNonNull(privateKey);
    this.certificate = Objects.requireNonNull(certificate);
  }

  public PrivateKey privateKey() {
    return privateKey;
  }

  public X509Certificate certificate() {
    return certificate;
  }

  @Override
  public String toString() {
    return "RaTlsCredentials{certificate="
        + certificate.getSubjectX500Principal()
        + ", serial="
        + certificate.getSerialNumber().toString(16)
        + ", privateKey=<redacted>}";
  }
}
