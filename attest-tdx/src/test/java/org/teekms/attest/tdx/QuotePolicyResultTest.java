package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.attest.Fixtures;

/**
 * {@link QuotePolicy#evaluate(QuoteVerificationResult)} on what only a whole result carries: a
 * quote that did not verify, and an SGX enclave quote (dcap-qvl's real SGX v3 quote, which verifies
 * against its collateral with status ConfigurationAndSWHardeningNeeded and advisories
 * INTEL-SA-00289 and INTEL-SA-00615). Found by PIT: neither path had a test (docs/reliability.md
 * §5).
 */
class QuotePolicyResultTest {

  @Test
  void aQuoteThatDidNotVerifyBreaksOnlyNotVerifiedAndSaysWhy() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.corruptQeReportData = true;
    QuoteVerificationResult r = w.verify();
    QuotePolicy.Decision d =
        QuotePolicy.builder()
            .allowAnyAdvisory()
            .allowDebugForTesting()
            .allowSgx()
            .build()
            .evaluate(r);
    assertFalse(d.allowed());
    assertEquals(1, d.broken().size(), d.violations()::toString);
    assertEquals(QuotePolicy.Rule.NOT_VERIFIED, d.broken().get(0).rule());
    assertTrue(
        d.violations().get(0).startsWith("quote did not verify (QE_REPORT_DATA_MISMATCH): "),
        d.violations().get(0));
  }

  @Test
  void anSgxQuoteIsRefusedUnlessSgxIsAllowedAndIsJudgedOnItsPlatformAsATdIs() throws Exception {
    QuoteVerificationResult r = sgxResult();
    assertTrue(r.valid(), r::error);

    QuotePolicy.Decision strict = QuotePolicy.builder().build().evaluate(r);
    assertEquals(
        List.of(
            QuotePolicy.Rule.TCB_STATUS,
            QuotePolicy.Rule.ADVISORY,
            QuotePolicy.Rule.ADVISORY,
            QuotePolicy.Rule.SGX),
        strict.broken().stream().map(QuotePolicy.Violation::rule).toList());
    assertEquals("SGX enclave quotes are not allowed", strict.violations().get(3));

    QuotePolicy sgxOnly = QuotePolicy.builder().allowSgx().build();
    assertEquals(
        List.of(QuotePolicy.Rule.TCB_STATUS, QuotePolicy.Rule.ADVISORY, QuotePolicy.Rule.ADVISORY),
        sgxOnly.evaluate(r).broken().stream().map(QuotePolicy.Violation::rule).toList());

    QuotePolicy lenient =
        QuotePolicy.builder()
            .allowSgx()
            .allowStatuses(TcbStatus.ConfigurationAndSWHardeningNeeded)
            .allowAdvisories("INTEL-SA-00289", "INTEL-SA-00615")
            .build();
    QuotePolicy.Decision d = lenient.evaluate(r);
    assertTrue(d.allowed(), d.violations()::toString); // the sample enclave is not a debug enclave
    assertFalse(r.quote().enclaveReport().debug());
  }

  private static QuoteVerificationResult sgxResult() throws Exception {
    X509Certificate root = Pem.certificates(Fixtures.bytes("common/intel_sgx_root_ca.pem")).get(0);
    DcapCases c = DcapCases.byId("dcapqvl_sgx_v3");
    DcapCases.Check check = c.checks().get(0);
    return new DcapQuoteVerifier(root).verify(c.quote(), check.collateral(), check.at());
  }
}
