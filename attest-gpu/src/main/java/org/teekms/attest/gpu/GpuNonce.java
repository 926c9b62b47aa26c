package org.teekms.attest.gpu;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Binds GPU reports to a TLS key: the SPDM request nonce is {@code SHA-256(LABEL ‖ SPKI DER)},
 * where SPKI is the DER SubjectPublicKeyInfo of the RA-TLS certificate key that the TDX quote also
 * binds. A report is therefore fresh for exactly one TLS key, and a relying party recomputes the
 * nonce from the certificate it is talking to. Specified in {@code docs/gpu-attestation.md}.
 */
public final class GpuNonce {
  /** ASCII, no terminator. */
  public static final String LABEL = "tee-kms/gpu-evidence-nonce/v1";

  private GpuNonce() {}

  public static byte[] forSpki(byte[] spkiDer) {
    if (spkiDer == null || spkiDer.length == 0) {
      throw new IllegalArgumentException("empty SubjectPublicKeyInfo");
    }
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      sha256.update(LABEL.getBytes(StandardCharsets.US_ASCII));
      return sha256.digest(spkiDer);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
