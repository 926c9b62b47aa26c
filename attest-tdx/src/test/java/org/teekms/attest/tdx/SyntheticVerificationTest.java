package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

/**
 * TCB rules, revocation and policy on a synthetic DCAP world under its own root CA (SyntheticDcap):
 * proves the verifier needs nothing from Intel but the rules, and exercises the cases the real
 * fixtures do not reach.
 */
class SyntheticVerificationTest {
  private static final int[] SGX = {5, 5, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
  private static final int[] TDX = {5, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

  @Test
  void ownRootCaVerifiesAndIntelRootDoesNot() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    QuoteVerificationResult r = w.verify();
    assertTrue(r.valid(), r::error);
    assertEquals(TcbStatus.UpToDate, r.status());
    assertEquals(Bytes.fromHex(SyntheticDcap.FMSPC), r.fmspc());
    assertEquals(64, r.deviceId().hex().length());
    assertFalse(
        DcapQuoteVerifier.withIntelRoot()
            .verify(w.quote(), w.collateral(), SyntheticDcap.NOW)
            .valid());
  }

  @Test
  void revokedPckLeafAndIntermediateAreRejected() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    byte[] quote = w.quote();
    w.revokedByPckCa = Set.of(w.pck.getSerialNumber());
    QuoteVerificationResult leaf =
        new DcapQuoteVerifier(w.root).verify(quote, w.collateral(), SyntheticDcap.NOW);
    assertEquals(VerificationFailure.CERTIFICATE_REVOKED, leaf.failure());
    assertTrue(leaf.error().contains("CN=Synthetic PCK Certificate"), leaf.error());

    w.revokedByPckCa = Set.of();
    w.revokedByRoot = Set.of(w.pckCa.getSerialNumber());
    QuoteVerificationResult ca =
        new DcapQuoteVerifier(w.root).verify(quote, w.collateral(), SyntheticDcap.NOW);
    assertEquals(VerificationFailure.CERTIFICATE_REVOKED, ca.failure());
  }

  @Test
  void revokedTcbSigningCertificateIsRejected() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.revokedByRoot = Set.of(w.tcbSigning.getSerialNumber());
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.CERTIFICATE_REVOKED, r.failure());
    assertTrue(r.error().contains("TCB info issuer"), r.error());
  }

  @Test
  void firstMatchingLevelGivesStatusAndAdvisories() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.tcbLevels =
        "["
            + SyntheticDcap.level(
                new int[] {6, 6, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0}, 13, TDX, "UpToDate")
            + ","
            + SyntheticDcap.level(SGX, 13, TDX, "SWHardeningNeeded", "INTEL-SA-00615")
            + ","
            + SyntheticDcap.level(SGX, 5, TDX, "OutOfDate", "INTEL-SA-00001")
            + "]";
    QuoteVerificationResult r = w.verify();
    assertTrue(r.valid(), r::error);
    assertEquals(TcbStatus.SWHardeningNeeded, r.status());
    assertEquals(List.of("INTEL-SA-00615"), r.advisoryIds());

    w.pckPceSvn = 12; // below the second level's PCESVN: the third matches
    QuoteVerificationResult old = w.verify();
    assertEquals(TcbStatus.OutOfDate, old.status());
    assertEquals(List.of("INTEL-SA-00001"), old.advisoryIds());

    w.pckPceSvn = 4; // below every level
    QuoteVerificationResult none = w.verify();
    assertEquals(VerificationFailure.TCB_LEVEL_NOT_FOUND, none.failure());
    assertNull(none.status());
  }

  @Test
  void qeAndPlatformStatusesCombineAsIntelConverges() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.tcbLevels =
        "[" + SyntheticDcap.level(SGX, 13, TDX, "ConfigurationNeeded", "INTEL-SA-00700") + "]";
    w.qeIsvSvn = 7; // between the QE levels: OutOfDate with INTEL-SA-00615
    QuoteVerificationResult r = w.verify();
    assertTrue(r.valid(), r::error);
    assertEquals(TcbStatus.OutOfDateConfigurationNeeded, r.status());
    assertEquals(TcbStatus.ConfigurationNeeded, r.tcb().platformStatus());
    assertEquals(TcbStatus.OutOfDate, r.tcb().qeStatus());
    assertEquals(List.of("INTEL-SA-00615", "INTEL-SA-00700"), r.advisoryIds());

    w.qeIsvSvn = 5; // below every QE level
    assertEquals(VerificationFailure.QE_IDENTITY_MISMATCH, w.verify().failure());
  }

  @Test
  void revokedLevelMakesTheQuoteInvalidButIsReported() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.tcbLevels = "[" + SyntheticDcap.level(SGX, 13, TDX, "Revoked", "INTEL-SA-00999") + "]";
    QuoteVerificationResult r = w.verify();
    assertFalse(r.valid());
    assertEquals(VerificationFailure.TCB_REVOKED, r.failure());
    assertEquals(TcbStatus.Revoked, r.status());
    assertEquals(List.of("INTEL-SA-00999"), r.advisoryIds());
  }

  @Test
  void tdxModuleIdentityJudgesBytesZeroAndOneWhenMajorVersionIsSet() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    // level wants module SVN 5 in byte 0; the TDX 1.5 module reports SVN 3 of major version 1
    // (TDX_01)
    w.teeTcbSvn = Bytes.fromHex("03010300000000000000000000000000").toByteArray();
    w.moduleIdentities =
        ",\"tdxModuleIdentities\":["
            + SyntheticDcap.moduleIdentity("TDX_01", SyntheticDcap.SEAM_SIGNER, 4, 2)
            + "]";
    QuoteVerificationResult r = w.verify();
    assertTrue(r.valid(), r::error);
    // byte 0 (3) is below the level's 5, but Intel's rule leaves it to TDX_01, whose level isvsvn 2
    // gives OutOfDate
    assertEquals(TcbStatus.OutOfDate, r.status());
    assertEquals(TcbStatus.UpToDate, r.tcb().platformStatus());
    assertEquals(TcbStatus.OutOfDate, r.tcb().tdxModuleStatus());
    assertEquals(List.of("INTEL-SA-01036"), r.advisoryIds());

    w.teeTcbSvn =
        Bytes.fromHex("01010300000000000000000000000000").toByteArray(); // below every TDX_01 level
    assertEquals(VerificationFailure.TDX_MODULE_MISMATCH, w.verify().failure());

    w.teeTcbSvn =
        Bytes.fromHex("05020300000000000000000000000000")
            .toByteArray(); // TDX_02 is not in the TCB info
    QuoteVerificationResult missing = w.verify();
    assertEquals(VerificationFailure.TDX_MODULE_MISMATCH, missing.failure());
    assertTrue(missing.error().contains("TDX_02"), missing.error());

    // without module identities all 16 bytes are compared: byte 0 = 3 < 5 matches no level
    w.moduleIdentities = "";
    w.teeTcbSvn = Bytes.fromHex("03010300000000000000000000000000").toByteArray();
    assertEquals(VerificationFailure.TCB_LEVEL_NOT_FOUND, w.verify().failure());
  }

  @Test
  void moduleSignerMustMatch() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    byte[] other = new byte[48];
    other[0] = 1;
    w.mrSignerSeam = other;
    QuoteVerificationResult r = w.verify();
    assertEquals(VerificationFailure.TDX_MODULE_MISMATCH, r.failure());
    assertTrue(r.error().startsWith("MRSIGNERSEAM"), r.error());
  }

  @Test
  void qeMustMatchItsIdentityAndBindTheAttestationKey() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    byte[] otherSigner = new byte[32];
    otherSigner[31] = 9;
    w.qeMrSigner = otherSigner;
    assertEquals(VerificationFailure.QE_IDENTITY_MISMATCH, w.verify().failure());

    SyntheticDcap v = new SyntheticDcap();
    v.corruptQeReportData = true;
    assertEquals(VerificationFailure.QE_REPORT_DATA_MISMATCH, v.verify().failure());
  }

  @Test
  void debugTdVerifiesButPolicyRejectsItUnlessATestPolicyAllowsIt() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.tdAttributes = 1L | 1L << 28;
    QuoteVerificationResult r = w.verify();
    assertTrue(r.valid(), r::error);
    assertTrue(r.td().tdAttributes().debug());
    QuotePolicy.Decision strict = QuotePolicy.builder().build().evaluate(r);
    assertFalse(strict.allowed());
    assertTrue(strict.violations().get(0).startsWith("debug TD is not allowed"));
    assertTrue(QuotePolicy.builder().allowDebugForTesting().build().evaluate(r).allowed());
  }

  @Test
  void policyChecksStatusAdvisoriesMrSeamAndAttributes() throws Exception {
    SyntheticDcap w = new SyntheticDcap();
    w.tcbLevels =
        "[" + SyntheticDcap.level(SGX, 13, TDX, "SWHardeningNeeded", "INTEL-SA-00615") + "]";
    QuoteVerificationResult r = w.verify();
    assertTrue(r.valid(), r::error);
    QuotePolicy.Decision strict = QuotePolicy.builder().build().evaluate(r);
    assertEquals(2, strict.violations().size(), strict.violations()::toString);
    assertTrue(
        QuotePolicy.builder()
            .allowStatuses(TcbStatus.SWHardeningNeeded)
            .allowAdvisories("INTEL-SA-00615")
            .build()
            .evaluate(r)
            .allowed());
    assertTrue(
        QuotePolicy.builder()
            .allowStatuses(TcbStatus.SWHardeningNeeded)
            .allowAnyAdvisory()
            .build()
            .evaluate(r)
            .allowed());
    QuotePolicy.Decision seam =
        QuotePolicy.builder()
            .allowStatuses(TcbStatus.SWHardeningNeeded)
            .allowAnyAdvisory()
            .requireMrSeam(Bytes.fromHex("ab".repeat(48)))
            .build()
            .evaluate(r);
    assertFalse(seam.allowed());
    assertTrue(seam.violations().get(0).startsWith("TDX module MRSEAM"));

    w.tdAttributes = 0; // SEPT_VE_DISABLE not set
    QuoteVerificationResult noSept = w.verify();
    assertTrue(noSept.valid());
    assertFalse(
        QuotePolicy.builder()
            .allowStatuses(TcbStatus.SWHardeningNeeded)
            .allowAnyAdvisory()
            .build()
            .evaluate(noSept)
            .allowed());
    w.tdAttributes = 1L << 28 | 1L << 5; // reserved bit
    assertTrue(
        QuotePolicy.builder()
            .allowStatuses(TcbStatus.SWHardeningNeeded)
            .allowAnyAdvisory()
            .build()
            .evaluate(w.verify())
            .violations()
            .get(0)
            .startsWith("reserved TD_ATTRIBUTES"));

    assertFalse(
        QuotePolicy.builder()
            .build()
            .evaluate(
                new DcapQuoteVerifier(w.root)
                    .verify(new byte[10], w.collateral(), SyntheticDcap.NOW))
            .allowed());
    assertThrows(
        IllegalArgumentException.class,
        () -> QuotePolicy.builder().allowStatuses(TcbStatus.Revoked).build());
  }

  @Test
  void statusCombinationIsTheUnionOfFacts() {
    assertEquals(TcbStatus.UpToDate, TcbStatus.UpToDate.combine(TcbStatus.UpToDate));
    assertEquals(
        TcbStatus.ConfigurationAndSWHardeningNeeded,
        TcbStatus.SWHardeningNeeded.combine(TcbStatus.ConfigurationNeeded));
    assertEquals(TcbStatus.OutOfDate, TcbStatus.SWHardeningNeeded.combine(TcbStatus.OutOfDate));
    assertEquals(
        TcbStatus.OutOfDateConfigurationNeeded,
        TcbStatus.ConfigurationAndSWHardeningNeeded.combine(TcbStatus.OutOfDate));
    assertEquals(TcbStatus.Revoked, TcbStatus.UpToDate.combine(TcbStatus.Revoked));
    for (TcbStatus a : TcbStatus.values()) {
      assertEquals(a, a.combine(TcbStatus.UpToDate));
      for (TcbStatus b : TcbStatus.values()) {
        assertEquals(a.combine(b), b.combine(a));
      }
    }
    assertThrows(IllegalArgumentException.class, () -> TcbStatus.parse("Unknown"));
  }
}
