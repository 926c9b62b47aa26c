package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.attest.Fixtures;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;
import org.teekms.attest.tdx.collateral.SignedJson;

/**
 * The verifier's collateral checks on real collateral: time, binding to the quote, signatures,
 * trust anchor.
 */
class CollateralChecksTest {
  private static final Instant AT = Instant.parse("2025-07-19T10:00:34Z");

  private static X509Certificate intelRoot() throws Exception {
    return Pem.certificates(Fixtures.bytes("common/intel_sgx_root_ca.pem")).get(0);
  }

  private static Collateral load(String name) throws Exception {
    return DcapQvlCollateralFile.load(Fixtures.path(name)).collateral();
  }

  private static byte[] quote() {
    return Fixtures.bytes("dcap-qvl/tdx_quote_v4.bin");
  }

  private static QuoteVerificationResult verify(Collateral c, Instant at) throws Exception {
    return new DcapQuoteVerifier(intelRoot()).verify(quote(), c, at);
  }

  @Test
  void bundledIntelRootEqualsTheFixtureRoot() throws Exception {
    assertEquals(intelRoot(), DcapQuoteVerifier.intelSgxRootCa());
    assertTrue(
        DcapQuoteVerifier.withIntelRoot()
            .verify(quote(), load("dcap-qvl/tdx_quote_v4_collateral.json"), AT)
            .valid());
  }

  @Test
  void collateralIsUsableOnlyInsideItsValidityWindow() throws Exception {
    Collateral c = load("dcap-qvl/tdx_quote_v4_collateral.json");
    assertTrue(verify(c, Instant.parse("2025-06-19T10:32:27Z")).valid());
    assertTrue(verify(c, Instant.parse("2025-07-19T10:00:35Z")).valid());
    QuoteVerificationResult late = verify(c, Instant.parse("2025-07-19T10:00:36Z"));
    assertEquals(VerificationFailure.COLLATERAL_EXPIRED, late.failure());
    assertTrue(late.error().contains("CRL has expired"), late.error());
    QuoteVerificationResult early = verify(c, Instant.parse("2025-06-19T10:32:26Z"));
    assertEquals(VerificationFailure.COLLATERAL_EXPIRED, early.failure());
    assertTrue(early.error().contains("QE identity is not yet valid"), early.error());
  }

  @Test
  void goTdxGuestCollateralHasExpiredIn2053() throws Exception {
    Collateral c = DcapCases.goTdxGuestCollateral();
    QuoteVerificationResult r =
        new DcapQuoteVerifier(intelRoot())
            .verify(
                Fixtures.bytes("go-tdx-guest/tdx_prod_quote_SPR_E4.dat"),
                c,
                Instant.parse("2053-07-01T01:00:00Z"));
    assertEquals(VerificationFailure.COLLATERAL_EXPIRED, r.failure());
    assertTrue(r.error().startsWith("TCB info has expired"), r.error());
  }

  @Test
  void reissuedTcbSigningCertificateVerifies2026TcbInfoAndTheExpiredOneDoesNot() throws Exception {
    Collateral v5 = load("dcap-qvl/tdx_quote_v5_outdated_collateral.json");
    SignedJson sample =
        SignedJson.fromPcsBody(
            Fixtures.bytes("go-tdx-guest/sample_tcbinfo_response_v5"), "tcbInfo");
    Instant at = Instant.parse("2026-03-01T00:00:00Z");
    byte[] dstackQuote = DcapCases.byId("dstack_quote_report").quote();
    DcapQuoteVerifier verifier = new DcapQuoteVerifier(intelRoot());

    // same serial and key, 2025 validity: the signature over sample_tcbinfo_response_v5 verifies
    Collateral newCert =
        new Collateral(
            sample,
            v5.tcbInfoIssuerChain(),
            v5.qeIdentity(),
            v5.qeIdentityIssuerChain(),
            v5.pckCrl(),
            v5.pckCrlIssuerChain(),
            v5.rootCaCrl());
    QuoteVerificationResult ok = verifier.verify(dstackQuote, newCert, at);
    assertTrue(ok.valid(), ok::error);

    List<X509Certificate> oldChain =
        Pem.certificates(Fixtures.bytes("go-tdx-guest/tcb_info_issuer_chain.pem"));
    assertEquals(
        oldChain.get(0).getSerialNumber(), v5.tcbInfoIssuerChain().get(0).getSerialNumber());
    assertEquals(oldChain.get(0).getPublicKey(), v5.tcbInfoIssuerChain().get(0).getPublicKey());
    Collateral oldCert =
        new Collateral(
            sample,
            oldChain,
            v5.qeIdentity(),
            v5.qeIdentityIssuerChain(),
            v5.pckCrl(),
            v5.pckCrlIssuerChain(),
            v5.rootCaCrl());
    QuoteVerificationResult expired = verifier.verify(dstackQuote, oldCert, at);
    assertEquals(VerificationFailure.COLLATERAL_EXPIRED, expired.failure());
    assertTrue(expired.error().contains("TCB info issuer certificate"), expired.error());
  }

  @Test
  void reserializedTcbInfoNoLongerVerifies() throws Exception {
    Collateral c = load("dcap-qvl/tdx_quote_v4_collateral.json");
    String reserialized =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(c.tcbInfo().json())
            .toPrettyString();
    Collateral tampered =
        new Collateral(
            new SignedJson(reserialized, c.tcbInfo().signature()),
            c.tcbInfoIssuerChain(),
            c.qeIdentity(),
            c.qeIdentityIssuerChain(),
            c.pckCrl(),
            c.pckCrlIssuerChain(),
            c.rootCaCrl());
    assertNotEquals(c.id(), tampered.id());
    QuoteVerificationResult r = verify(tampered, AT);
    assertEquals(VerificationFailure.COLLATERAL_INVALID, r.failure());
    assertTrue(r.error().startsWith("TCB info signature does not verify"), r.error());

    String qe = c.qeIdentity().json().replace("\"isvprodid\":2", "\"isvprodid\":3");
    assertNotEquals(c.qeIdentity().json(), qe);
    Collateral tamperedQe =
        new Collateral(
            c.tcbInfo(),
            c.tcbInfoIssuerChain(),
            new SignedJson(qe, c.qeIdentity().signature()),
            c.qeIdentityIssuerChain(),
            c.pckCrl(),
            c.pckCrlIssuerChain(),
            c.rootCaCrl());
    assertEquals(VerificationFailure.COLLATERAL_INVALID, verify(tamperedQe, AT).failure());
  }

  @Test
  void collateralForAnotherPlatformOrTeeIsRejected() throws Exception {
    Collateral other = load("dcap-qvl/tdx_quote_v5_outdated_collateral.json");
    QuoteVerificationResult r = verify(other, Instant.parse("2026-03-20T10:41:14Z"));
    assertEquals(VerificationFailure.COLLATERAL_MISMATCH, r.failure());
    assertTrue(r.error().contains("FMSPC 90c06f000000"), r.error());

    Collateral near = load("dcap-qvl/near_tdx_quote_v4_collateral.json");
    QuoteVerificationResult n = verify(near, Instant.parse("2025-10-02T07:03:50Z"));
    assertEquals(VerificationFailure.COLLATERAL_MISMATCH, n.failure());
    assertTrue(n.error().contains("FMSPC 20a06f000000"), n.error());

    Collateral sgx = load("dcap-qvl/sgx_quote_v3_collateral.json");
    QuoteVerificationResult s = verify(sgx, Instant.parse("2025-07-19T10:01:17Z"));
    assertEquals(VerificationFailure.COLLATERAL_MISMATCH, s.failure());
    // the SGX collateral carries the Processor CA's CRL: the Platform-CA-issued PCK cannot be
    // checked against it
    assertTrue(
        s.error()
            .startsWith(
                "no CRL from C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX PCK "
                    + "Platform CA"),
        s.error());
  }

  @Test
  void anotherTrustAnchorRejectsEverything() throws Exception {
    // The NVIDIA device identity CA stands in for "some other root": nothing Intel signed chains to
    // it.
    X509Certificate other =
        Pem.certificates(Fixtures.bytes("common/nvidia_device_identity_ca.pem")).get(0);
    QuoteVerificationResult r =
        new DcapQuoteVerifier(other)
            .verify(quote(), load("dcap-qvl/tdx_quote_v4_collateral.json"), AT);
    assertFalse(r.valid());
    assertEquals(VerificationFailure.COLLATERAL_INVALID, r.failure());
  }

  @Test
  void cachedVerdictsAreStableAcrossCallsAndTimes() throws Exception {
    Collateral c = load("dcap-qvl/tdx_quote_v4_collateral.json");
    DcapQuoteVerifier verifier = new DcapQuoteVerifier(intelRoot());
    for (int i = 0; i < 3; i++) {
      assertTrue(verifier.verify(quote(), c, AT).valid());
      assertEquals(
          VerificationFailure.COLLATERAL_EXPIRED,
          verifier.verify(quote(), c, AT.plusSeconds(86_400)).failure());
    }
  }
}
