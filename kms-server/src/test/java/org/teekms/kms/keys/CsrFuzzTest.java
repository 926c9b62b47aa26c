package org.teekms.kms.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * Coverage-guided fuzz target (Jazzer) for SignCert's PKCS#10 requests. Corpus: {@code
 * src/test/resources/org/teekms/kms/keys/CsrFuzzTestInputs/signCertCsr/} (real P-256 and Ed25519
 * CSRs). Only {@link TlsCertificateIssuer.BadCertificateRequest} may escape, and a mutated CSR is
 * accepted only for the key that signed one of the seeds (proof of possession cannot be forged by
 * mutation).
 */
class CsrFuzzTest {
  private static final List<SubjectPublicKeyInfo> SEED_KEYS =
      List.of(seedKey("p256.csr"), seedKey("ed25519.csr"));

  private static SubjectPublicKeyInfo seedKey(String name) {
    try (InputStream in =
        CsrFuzzTest.class.getResourceAsStream("CsrFuzzTestInputs/signCertCsr/" + name)) {
      return new PKCS10CertificationRequest(in.readAllBytes()).getSubjectPublicKeyInfo();
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("seed CSR " + name + " missing", e);
    }
  }

  @FuzzTest
  void signCertCsr(byte[] data) {
    try {
      SubjectPublicKeyInfo spki =
          TlsCertificateIssuer.checkRequest(data, List.of("app.example"), 3600);
      assertEquals(
          true,
          SEED_KEYS.contains(spki),
          "a CSR for a key nobody proved possession of was accepted");
    } catch (TlsCertificateIssuer.BadCertificateRequest expected) {
      // typed
    }
  }
}
