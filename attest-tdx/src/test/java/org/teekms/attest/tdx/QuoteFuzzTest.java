package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.teekms.attest.Fixtures;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralDocuments;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.CollateralRequest;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;
import org.teekms.attest.tdx.collateral.SignedJson;

/**
 * Coverage-guided fuzz targets (Jazzer) for everything in attest-tdx that reads outside bytes: DCAP
 * quotes, the dcap-qvl collateral file and PCS response bodies. In the normal build each target
 * runs once per file of its saved corpus ({@code
 * src/test/resources/org/teekms/attest/tdx/QuoteFuzzTestInputs/<target>/}, seeded from testdata/);
 * {@code bench/fuzz} runs them in fuzzing mode. The invariants: only the parser's typed exception
 * escapes, and a mutated signed input never verifies unless the bytes the signatures cover are
 * unchanged.
 */
class QuoteFuzzTest {
  /**
   * The real quote that verifies (dcap-qvl's TDX v4 quote with its collateral, at its recorded
   * time).
   */
  private static final DcapCases.Check GOOD_CHECK;

  private static final TdxQuote GOOD_QUOTE;
  private static final DcapQuoteVerifier VERIFIER;

  static {
    try {
      X509Certificate root =
          Pem.certificates(Fixtures.bytes("common/intel_sgx_root_ca.pem")).get(0);
      VERIFIER = new DcapQuoteVerifier(root);
      DcapCases c = DcapCases.byId("dcapqvl_tdx_v4");
      GOOD_CHECK = c.checks().get(0);
      GOOD_QUOTE = TdxQuote.parse(c.quote());
      if (!VERIFIER.verify(GOOD_QUOTE, GOOD_CHECK.collateral(), GOOD_CHECK.at()).valid()) {
        throw new IllegalStateException(
            "the seed quote no longer verifies: the signed-input targets would be void");
      }
    } catch (CertificateException | QuoteParseException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Structure parsing, hex-file decoding and the PCK extension: a typed exception or a parsed
   * value.
   */
  @FuzzTest
  void quoteParser(byte[] data) {
    try {
      TdxQuote q = TdxQuote.parse(TdxQuote.decodeFile(data));
      assertNotNull(q.header());
      assertTrue(q.trailingBytes() >= 0);
      CollateralRequest.forQuote(q); // parses the PCK chain and its SGX extension
    } catch (QuoteParseException expected) {
      // the typed refusal
    }
  }

  /**
   * A real signed quote, mutated: verification returns a result (never throws), and a valid verdict
   * requires that the signed region (header + TD report) and the QE report are the original's.
   */
  @FuzzTest
  void signedQuoteVerification(byte[] data) {
    QuoteVerificationResult r = VERIFIER.verify(data, GOOD_CHECK.collateral(), GOOD_CHECK.at());
    assertNotNull(r);
    if (r.valid()) {
      assertEquals(
          GOOD_QUOTE.signedRegion(), r.quote().signedRegion(), "a mutated TD report verified");
      assertEquals(
          GOOD_QUOTE.qeReportRaw(), r.quote().qeReportRaw(), "a mutated QE report verified");
    } else {
      assertNotNull(r.failure());
      assertNotNull(r.error());
    }
  }

  /**
   * dcap-qvl collateral JSON: a typed exception or a collateral whose signed documents parse or
   * refuse with a typed exception; verifying the real quote against it is valid only if every
   * signed document is the original's.
   */
  @FuzzTest
  void collateralJson(byte[] data) {
    Collateral c;
    try {
      c = DcapQvlCollateralFile.parse(data);
    } catch (CollateralException expected) {
      return;
    }
    try {
      CollateralDocuments.tcbInfo(c.tcbInfo());
      CollateralDocuments.qeIdentity(c.qeIdentity());
    } catch (CollateralException expected) {
      // typed
    }
    QuoteVerificationResult r = VERIFIER.verify(GOOD_QUOTE, c, GOOD_CHECK.at());
    if (r.valid()) {
      Collateral good = GOOD_CHECK.collateral();
      assertEquals(good.tcbInfo(), c.tcbInfo(), "mutated TCB info verified");
      assertEquals(good.qeIdentity(), c.qeIdentity(), "mutated QE identity verified");
    } else {
      assertNotNull(r.failure());
    }
  }

  /**
   * A PCS response body ({@code {"tcbInfo":{…},"signature":"…"}}): split and parsed, or a typed
   * exception.
   */
  @FuzzTest
  void pcsBody(byte[] data) {
    try {
      CollateralDocuments.tcbInfo(SignedJson.fromPcsBody(data, "tcbInfo"));
    } catch (CollateralException expected) {
      // typed
    }
    try {
      CollateralDocuments.qeIdentity(SignedJson.fromPcsBody(data, "enclaveIdentity"));
    } catch (CollateralException expected) {
      // typed
    }
  }
}
