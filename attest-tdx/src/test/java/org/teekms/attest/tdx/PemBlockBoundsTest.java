package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import org.junit.jupiter.api.Test;

/**
 * An END line is looked for only after the whole BEGIN line: the last dashes of a BEGIN line may
 * start an END line ({@code -----BEGIN CERTIFICATE-----END CERTIFICATE-----}), which used to make
 * {@link Pem} throw {@code StringIndexOutOfBoundsException}, so that DCAP verification of a quote
 * whose PCK chain held such bytes threw instead of returning a failed result (found by the {@code
 * signedQuoteVerification} fuzz target; its input is kept as {@code
 * QuoteFuzzTestInputs/signedQuoteVerification/crash-e73fb61d…}, docs/reliability.md §1).
 */
class PemBlockBoundsTest {

  @Test
  void aCertificateBlockWhoseBeginLineEndsInAnEndLineHasNoEndLine() {
    CertificateException e =
        assertThrows(
            CertificateException.class,
            () -> Pem.certificates(ascii("x-----BEGIN CERTIFICATE-----END CERTIFICATE-----\n")));
    assertEquals("PEM certificate block 1 has no END line", e.getMessage());
    assertThrows(
        CertificateException.class,
        () -> Pem.strictCertificateChain(ascii("-----BEGIN CERTIFICATE-----END CERTIFICATE-----")));
  }

  @Test
  void aCrlBlockWhoseBeginLineEndsInAnEndLineHasNoEndLine() {
    CertificateException e =
        assertThrows(
            CertificateException.class,
            () -> Pem.crl(ascii("-----BEGIN X509 CRL-----END X509 CRL-----")));
    assertEquals("PEM CRL block has no END line", e.getMessage());
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
