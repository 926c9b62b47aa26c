package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;

/**
 * Coverage-guided fuzz targets (Jazzer) for RA-TLS certificates. Corpus: {@code
 * src/test/resources/org/teekms/attest/ratls/RaTlsFuzzTestInputs/<target>/}.
 *
 * <p>{@link #certificateParser} feeds raw DER (seeded with simulated-CVM and dstack-style
 * certificates) to the extension parser: only {@link RaTlsException} may escape. {@link
 * #mutatedCertificateVerification} starts from a certificate a simulated CVM signs at startup (the
 * simulated TDX root is fresh in every JVM, so a saved certificate would never verify) and reads
 * the fuzz input as a patch list — 3-byte records {@code (offset high, offset low, xor)} applied to
 * its DER — so Jazzer mutates a real signed certificate. The verifier may accept a patched
 * certificate only with the original's hardware-measured identity.
 */
class RaTlsFuzzTest {
  private static final RaTlsVerifier VERIFIER = SimulatedRaTls.verifier().build();
  private static final byte[] CERT_DER;
  private static final RaTlsIdentity IDENTITY;
  private static final CertificateFactory X509;

  static {
    try {
      X509 = CertificateFactory.getInstance("X.509");
      X509Certificate cert = SimulatedRaTls.credentials("fuzz-app").certificate();
      CERT_DER = cert.getEncoded();
      IDENTITY = VERIFIER.verify(cert);
    } catch (Exception e) {
      throw new IllegalStateException("the simulated RA-TLS certificate does not verify", e);
    }
  }

  @FuzzTest
  void certificateParser(byte[] der) {
    try {
      RaTlsEvidence e = RaTlsCertificateParser.parse(der);
      assertNotNull(e.quote());
      assertNotNull(e.spki());
    } catch (RaTlsException expected) {
      // typed
    }
  }

  @FuzzTest
  void mutatedCertificateVerification(byte[] patch) {
    byte[] der = CERT_DER.clone();
    for (int i = 0; i + 2 < patch.length; i += 3) {
      int offset = (((patch[i] & 0xff) << 8) | (patch[i + 1] & 0xff)) % der.length;
      der[offset] ^= patch[i + 2];
    }
    X509Certificate cert;
    try {
      cert = (X509Certificate) X509.generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException | RuntimeException notACertificate) {
      return; // the JDK's parser, not ours: the TLS stack refuses such a certificate before we see
      // it
    }
    try {
      RaTlsIdentity id = VERIFIER.verify(cert);
      assertEquals(
          IDENTITY.boot(), id.boot(), "a patched certificate verified with another boot identity");
      assertEquals(IDENTITY.td(), id.td(), "a patched certificate verified with another TD report");
      assertEquals(IDENTITY.mrSystem(), id.mrSystem());
    } catch (RaTlsException expected) {
      // typed refusal
    }
  }
}
