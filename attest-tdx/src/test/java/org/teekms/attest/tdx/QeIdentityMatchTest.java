package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The QE report against the QE identity, and the collateral against the quote (TcbLevelMatcher):
 * each field the synthetic world sets to the expected value is changed alone, and a change outside
 * a mask is shown not to matter (found by PIT: these checks had no test that changed only them;
 * docs/reliability.md §5). The QE identity expects MISCSELECT 0 under mask FFFFFFFF, ATTRIBUTES
 * {@code 11 00…} under mask {@code FB FF FF FF FF FF FF FF 00…}, ISVPRODID 2.
 */
class QeIdentityMatchTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void aQeOfAnotherProductIsAMismatch() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.qeIsvProdId = 3;
    assertQeMismatch(w, "QE ISVPRODID 3");
  }

  @Test
  void aQeMiscSelectBitUnderTheMaskIsAMismatchInAnyOfItsFourBytes() throws Exception {
    for (int shift : new int[] {0, 24}) {
      SyntheticDcap w = new SyntheticDcap();
      w.qeMiscSelect = 1 << shift;
      assertQeMismatch(w, "QE MISCSELECT");
    }
  }

  @Test
  void qeAttributesAreComparedUnderTheirMaskByteByByte() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.qeAttributes = HEX.parseHex("11000000000000010000000000000000"); // byte 7, mask FF
    assertQeMismatch(w, "QE ATTRIBUTES byte 7");

    SyntheticDcap debug = new SyntheticDcap();
    debug.qeAttributes = HEX.parseHex("13000000000000000000000000000000"); // DEBUG, bit 1
    assertQeMismatch(debug, "QE ATTRIBUTES byte 0");

    SyntheticDcap outsideMask = new SyntheticDcap();
    // bit 2 of byte 0 (mask FB) and byte 8 (mask 00) are not compared
    outsideMask.qeAttributes = HEX.parseHex("150000000000000001000000000000ff");
    QuoteVerificationResult r = outsideMask.verify();
    assertTrue(r.valid(), r::error);
  }

  @Test
  void tcbInfoForAnotherPlatformOrPceIsACollateralMismatch() throws Exception {
    SyntheticDcap fmspc = new SyntheticDcap();
    fmspc.tcbInfoFmspc = "00112233AABC";
    QuoteVerificationResult r = fmspc.verify();
    assertEquals(VerificationFailure.COLLATERAL_MISMATCH, r.failure(), r::error);
    assertTrue(r.error().contains("FMSPC 00112233aabc"), r.error());

    SyntheticDcap pce = new SyntheticDcap();
    pce.tcbInfoPceId = "0001";
    r = pce.verify();
    assertEquals(VerificationFailure.COLLATERAL_MISMATCH, r.failure(), r::error);
    assertTrue(r.error().contains("PCE-ID 0001"), r.error());
  }

  @Test
  void aTdxQuoteNeedsTheTdQeIdentityOfVersionTwoOrThree() throws Exception {
    SyntheticDcap sgxQe = new SyntheticDcap();
    sgxQe.qeIdentityId = "QE";
    QuoteVerificationResult r = sgxQe.verify();
    assertEquals(VerificationFailure.COLLATERAL_MISMATCH, r.failure(), r::error);
    assertTrue(r.error().contains("QE identity is QE version 2, expected TD_QE"), r.error());

    SyntheticDcap v3 = new SyntheticDcap();
    v3.qeIdentityVersion = 3;
    r = v3.verify();
    assertTrue(r.valid(), r::error);

    SyntheticDcap v1 = new SyntheticDcap();
    v1.qeIdentityVersion = 1;
    r = v1.verify();
    assertEquals(VerificationFailure.COLLATERAL_MISMATCH, r.failure(), r::error);
  }

  @Test
  void aTdxModuleIdentityOfAnotherSignerIsAMismatch() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    byte[] other = new byte[48];
    other[0] = 1;
    w.teeTcbSvn = HEX.parseHex("03010300000000000000000000000000"); // module TDX_01, SVN 3
    w.moduleIdentities =
        ",\"tdxModuleIdentities\":[" + SyntheticDcap.moduleIdentity("TDX_01", other, 4, 2) + "]";
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.TDX_MODULE_MISMATCH, r.failure(), r::error);
    assertTrue(r.error().contains("does not match TDX_01 mrsigner"), r.error());
  }

  @Test
  void aTdxModuleSvnEqualToALevelsReachesThatLevel() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.teeTcbSvn = HEX.parseHex("04010300000000000000000000000000"); // TDX_01, SVN 4
    w.moduleIdentities =
        ",\"tdxModuleIdentities\":["
            + SyntheticDcap.moduleIdentity("TDX_01", SyntheticDcap.SEAM_SIGNER, 4, 2)
            + "]";
    QuoteVerificationResult r = w.verify();
    assertTrue(r.valid(), r::error);
    assertEquals(TcbStatus.UpToDate, r.tcb().tdxModuleStatus());
  }

  @Test
  void seamAttributesAreComparedWithTheTdxModulesUnderItsMask() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.seamAttributes = new byte[] {0, 0, 0, 0, 0, 0, 0, 1};
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.TDX_MODULE_MISMATCH, r.failure(), r::error);
    assertEquals("SEAM attributes do not match tdxModule under its mask", r.error());
  }

  @Test
  void anExpiredPckCrlMakesTheCollateralExpiredThoughTheRootCrlIsCurrent() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.pckCrlNextUpdate = java.time.Instant.parse("2030-01-10T00:00:00Z");
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.COLLATERAL_EXPIRED, r.failure(), r::error);
    assertTrue(r.error().startsWith("PCK CRL has expired"), r.error());
  }

  private static void assertQeMismatch(SyntheticDcap w, String detail) throws Exception {
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.QE_IDENTITY_MISMATCH, r.failure(), r::error);
    assertTrue(r.error().startsWith(detail), r.error());
  }
}
