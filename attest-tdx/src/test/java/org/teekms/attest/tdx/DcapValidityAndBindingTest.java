package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Checks of the DCAP verifier that only a time or a byte the other tests never vary can reach:
 * certificate expiry at the verification time, the QE vendor, the zero half of the QE report data
 * (found by PIT: removing each check left every other test green, docs/reliability.md §5).
 */
class DcapValidityAndBindingTest {

  private static final Instant BEFORE_NOW = Instant.parse("2030-01-10T00:00:00Z");

  @Test
  void aPckCertificateExpiredAtTheVerificationTimeRejectsTheQuote() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.pckNotAfter = BEFORE_NOW;
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.PCK_CHAIN_INVALID, r.failure());
    assertTrue(r.error().contains("PCK"), r.error());
    assertTrue(
        new DcapQuoteVerifier(w.root)
            .verify(w.quote(), w.collateral(), BEFORE_NOW.minusSeconds(86400 * 5))
            .valid(),
        "the same quote verifies while its PCK certificate is valid and the collateral current");
  }

  @Test
  void anExpiredTcbSigningCertificateMakesTheCollateralExpired() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.tcbSigningNotAfter(BEFORE_NOW);
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.COLLATERAL_EXPIRED, r.failure());
    assertTrue(r.error().contains("TCB info issuer"), r.error());
  }

  @Test
  void aQuoteFromAQuotingEnclaveOfAnotherVendorIsRejected() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.qeVendorId = new byte[16];
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.UNSUPPORTED_QE_VENDOR, r.failure());
  }

  @Test
  void aQeReportDataWhoseSecondHalfIsNotZeroIsAMismatch() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.nonZeroQeReportDataTail = true;
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.QE_REPORT_DATA_MISMATCH, r.failure());
  }
}
