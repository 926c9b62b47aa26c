package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.teekms.attest.Fixtures;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.collateral.Collateral;

/**
 * The QE vendor id must be Intel's (as Intel's QVL and dcap-qvl require), and the TD attributes
 * follow dcap-qvl's rules: DEBUG only under a test policy, reserved bits and MIGRATABLE (bit 29)
 * refused, SEPT_VE_DISABLE required, PKS, KL and PERFMON allowed. Real fixtures, and simulator
 * quotes re-signed after the change so that the signature is not what refuses them.
 */
class QeVendorAndTdAttributesTest {
  /** Offset of the QE vendor id in the quote header. */
  private static final int QE_VENDOR = 12;

  /**
   * Offset of TD_ATTRIBUTES in a TDX quote: header 48, TEE_TCB_SVN 16, MRSEAM 48, MRSIGNERSEAM 48,
   * SEAMATTRIBUTES 8.
   */
  private static final int TD_ATTRIBUTES = 48 + 16 + 48 + 48 + 8;

  private static final SimulatedTdx TDX =
      SimulatedTdx.enable("QeVendorAndTdAttributesTest", Clock.systemUTC());
  private static final Collateral COLLATERAL = TDX.collateral().toCollateral();
  private static final DcapQuoteVerifier SIMULATED = new DcapQuoteVerifier(TDX.rootCertificate());

  private static DcapQuoteVerifier intel() throws Exception {
    X509Certificate root = Pem.certificates(Fixtures.bytes("common/intel_sgx_root_ca.pem")).get(0);
    return new DcapQuoteVerifier(root);
  }

  private static byte[] simulatedQuote() throws Exception {
    SimulatedCvm cvm =
        TDX.newCvm(new byte[48], false)
            .boot(SimulatedCvm.App.ofCompose("services: {}\n", new byte[20]));
    return cvm.quote(new byte[64]);
  }

  private static QuoteVerificationResult verifySimulated(byte[] quote) {
    return SIMULATED.verify(quote, COLLATERAL, Instant.now());
  }

  static List<DcapCases> realFixtures() {
    return DcapCases.all();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realFixtures")
  void aRealFixtureQuoteCarriesIntelsQeVendorIdAndPassesTheVendorCheck(DcapCases c)
      throws Exception {
    DcapQuoteVerifier verifier = intel();
    assertEquals(
        DcapQuoteVerifier.INTEL_QE_VENDOR_ID,
        TdxQuote.parse(c.quote()).header().qeVendorId(),
        c.id());
    for (DcapCases.Check check : c.checks()) {
      QuoteVerificationResult r = verifier.verify(c.quote(), check.collateral(), check.at());
      assertTrue(r.failure() != VerificationFailure.UNSUPPORTED_QE_VENDOR, c.id());
    }
  }

  @Test
  void genuineFixtureQuotesStillVerifyUnderTheVendorCheck() throws Exception {
    DcapQuoteVerifier verifier = intel();
    int verified = 0;
    for (DcapCases c : DcapCases.all()) {
      for (DcapCases.Check check : c.checks()) {
        verified += verifier.verify(c.quote(), check.collateral(), check.at()).valid() ? 1 : 0;
      }
    }
    assertTrue(verified > 0, "some fixture quote verifies");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realFixtures")
  void aRealQuoteWithAnotherQeVendorIsRefusedBeforeItsSignatureIsChecked(DcapCases c)
      throws Exception {
    DcapQuoteVerifier verifier = intel();
    for (DcapCases.Check check : c.checks()) {
      byte[] q = c.quote().clone();
      q[QE_VENDOR + 15] ^=
          0x01; // the header is signed: only a check before the signature's names the vendor
      QuoteVerificationResult r = verifier.verify(q, check.collateral(), check.at());
      assertFalse(r.valid());
      assertEquals(
          VerificationFailure.UNSUPPORTED_QE_VENDOR, r.failure(), c.id() + ": " + r.error());
      assertTrue(r.error().contains("939a7233f79c4ca9940a0db3957f0606 is not Intel's"), r.error());
    }
  }

  @Test
  void aReSignedQuoteWithAnotherQeVendorIsRefusedByTheVendorCheck() throws Exception {
    byte[] genuine = simulatedQuote();
    assertTrue(verifySimulated(genuine).valid());
    byte[] otherUserData = genuine.clone();
    otherUserData[47] ^=
        0x01; // header user data: re-signed, it verifies, so re-signing really yields valid quotes
    assertTrue(
        verifySimulated(TDX.resign(otherUserData)).valid(), "re-signing makes a valid quote");

    byte[] vendor = genuine.clone();
    System.arraycopy(
        java.util.HexFormat.of().parseHex("00112233445566778899aabbccddeeff"),
        0,
        vendor,
        QE_VENDOR,
        16);
    QuoteVerificationResult r = verifySimulated(TDX.resign(vendor));
    assertEquals(VerificationFailure.UNSUPPORTED_QE_VENDOR, r.failure(), r.error());
    // the collateral-fetching entry point refuses it before asking for collateral
    QuoteVerificationResult fetched =
        SIMULATED.verify(
            TdxQuote.parse(TDX.resign(vendor)),
            request -> {
              throw new AssertionError(
                  "no collateral is fetched for a quote of an unknown QE vendor");
            },
            Instant.now());
    assertEquals(VerificationFailure.UNSUPPORTED_QE_VENDOR, fetched.failure(), fetched.error());
  }

  /**
   * The simulated quote with TD_ATTRIBUTES bit {@code bit} set (or cleared) and re-signed; it
   * verifies under DCAP.
   */
  private static QuoteVerificationResult withAttributeBit(int bit, boolean set) throws Exception {
    byte[] q = simulatedQuote();
    int at = TD_ATTRIBUTES + bit / 8;
    q[at] = (byte) (set ? q[at] | 1 << (bit % 8) : q[at] & ~(1 << (bit % 8)));
    QuoteVerificationResult r = verifySimulated(TDX.resign(q));
    assertTrue(r.valid(), r::error); // DCAP says genuine: the policy decides on attributes
    assertEquals(set, (r.td().tdAttributes().value() >>> bit & 1) == 1);
    return r;
  }

  @ParameterizedTest(name = "bit {0} set -> {1}")
  @CsvSource({
    "29, migratable TD is not allowed (TD_ATTRIBUTES.MIGRATABLE, bit 29, is set: 0000003000000000)",
    "0, debug TD is not allowed",
    "1, reserved TD_ATTRIBUTES bits are set",
    "7, reserved TD_ATTRIBUTES bits are set",
    "8, reserved TD_ATTRIBUTES bits are set",
    "27, reserved TD_ATTRIBUTES bits are set",
    "32, reserved TD_ATTRIBUTES bits are set",
    "62, reserved TD_ATTRIBUTES bits are set",
  })
  void refusedTdAttributes(int bit, String violation) throws Exception {
    QuotePolicy.Decision d = QuotePolicy.builder().build().evaluate(withAttributeBit(bit, true));
    assertFalse(d.allowed());
    assertEquals(1, d.violations().size(), d.violations()::toString);
    assertTrue(d.violations().get(0).startsWith(violation), d.violations()::toString);
  }

  @Test
  void migratableIsRefusedEvenWhereDebugIsAllowedForTesting() throws Exception {
    QuotePolicy lenient =
        QuotePolicy.builder()
            .allowDebugForTesting()
            .requireSeptVeDisable(false)
            .allowServiceTd()
            .build();
    assertFalse(lenient.evaluate(withAttributeBit(29, true)).allowed());
  }

  @ParameterizedTest(name = "bit {0} (PKS 30, KL 31, PERFMON 63) is allowed")
  @CsvSource({"30", "31", "63"})
  void cpuFeatureAttributesAreAllowed(int bit) throws Exception {
    QuotePolicy.Decision d = QuotePolicy.builder().build().evaluate(withAttributeBit(bit, true));
    assertTrue(d.allowed(), d.violations()::toString);
  }

  @Test
  void septVeDisableIsRequired() throws Exception {
    QuotePolicy.Decision d = QuotePolicy.builder().build().evaluate(withAttributeBit(28, false));
    assertEquals(List.of("TD_ATTRIBUTES.SEPT_VE_DISABLE is not set"), d.violations());
  }
}
