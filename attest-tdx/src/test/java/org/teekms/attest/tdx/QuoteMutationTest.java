package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.teekms.attest.Fixtures;
import org.teekms.crypto.Bytes;

/**
 * Mutated quotes: go-tdx-guest's negative cases (verify_test.go::TestNegativeVerification) each
 * fail for the reason upstream names, and seeded random truncations, byte flips and length-field
 * corruptions of every fixture quote never throw an unchecked exception and never verify.
 */
class QuoteMutationTest {
  private static final int MUTATIONS_PER_QUOTE = 3000;

  private static DcapQuoteVerifier verifier() throws Exception {
    X509Certificate root = Pem.certificates(Fixtures.bytes("common/intel_sgx_root_ca.pem")).get(0);
    return new DcapQuoteVerifier(root);
  }

  @ParameterizedTest(name = "byte 0x{0} := 0x{1} -> {2}")
  @CsvSource({
    "0000, 03, MALFORMED_QUOTE, quote format not supported",
    "0278, 10, MALFORMED_QUOTE, size of certification data is 0x1045",
    "1343, 32, PCK_CHAIN_INVALID, PCK certificate chain",
    "1329, 32, PCK_CHAIN_INVALID, certificate 2 (C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX Root CA)",
    "0F5F, 32, PCK_CHAIN_INVALID, certificate 1 (C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX PCK Platform CA)",
    "0B77, 32, PCK_CHAIN_INVALID, certificate 0 (C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX PCK Certificate)",
    "001E, 32, QUOTE_SIGNATURE_INVALID, unable to verify",
    "003C, 32, QUOTE_SIGNATURE_INVALID, unable to verify",
  })
  void goTdxGuestNegativeMutations(
      String offset, String value, VerificationFailure failure, String message) throws Exception {
    DcapCases c = DcapCases.byId("gtg_v4_spr_e4");
    byte[] q = c.quote().clone();
    q[Integer.parseInt(offset, 16)] = (byte) Integer.parseInt(value, 16);
    DcapCases.Check check = c.checks().get(0);
    QuoteVerificationResult r = verifier().verify(q, check.collateral(), check.at());
    assertFalse(r.valid());
    assertEquals(failure, r.failure(), r.error());
    assertTrue(r.error().contains(message), r.error());
  }

  @Test
  void unmutatedGoTdxGuestQuotePassesEverySignatureCheckAndFailsOnlyOnTcb() throws Exception {
    DcapCases c = DcapCases.byId("gtg_v4_spr_e4");
    QuoteVerificationResult r =
        verifier().verify(c.quote(), c.checks().get(0).collateral(), c.checks().get(0).at());
    assertEquals(VerificationFailure.TCB_LEVEL_NOT_FOUND, r.failure());
    assertEquals(
        39, r.quote().trailingBytes()); // "\nextra bytes(only for testing purpose)\n" is ignored
  }

  @Test
  void rememberedQeReportAndAttestationKeyDoNotLetAMutatedSignaturePass() throws Exception {
    DcapQuoteVerifier verifier = verifier();
    DcapCases valid =
        DcapCases.all().stream()
            .filter(
                c ->
                    !c.checks().isEmpty()
                        && verifier
                            .verify(
                                c.quote(), c.checks().get(0).collateral(), c.checks().get(0).at())
                            .valid())
            .findFirst()
            .orElseThrow(() -> new AssertionError("no fixture quote verifies"));
    DcapCases.Check check = valid.checks().get(0);
    TdxQuote parsed = TdxQuote.parse(valid.quote());
    int qeReport = parsed.signedRegion().length() + 4 + 64 + 64 + 2 + 4;
    int[][] mutations = {
      {qeReport + 384 + 7, 0}, // QE report signature
      {qeReport + 100, 0}, // QE report body
      {parsed.signedRegion().length() + 4 + 5, 1}, // quote signature
      {parsed.signedRegion().length() + 4 + 64 + 9, 1}, // attestation key
    };
    for (int[] m : mutations) {
      assertTrue(
          verifier.verify(valid.quote(), check.collateral(), check.at()).valid(), "cache warm");
      byte[] q = valid.quote().clone();
      q[m[0]] ^= 0x01;
      QuoteVerificationResult r = verifier.verify(q, check.collateral(), check.at());
      assertFalse(r.valid(), "byte " + m[0] + " flipped after the same quote verified");
      if (m[1] == 0) {
        assertTrue(r.failure() == VerificationFailure.QE_REPORT_SIGNATURE_INVALID, r.error());
      } else {
        assertTrue(
            r.failure() == VerificationFailure.QUOTE_SIGNATURE_INVALID
                || r.failure() == VerificationFailure.QE_REPORT_DATA_MISMATCH,
            r.error());
      }
    }
  }

  @TestFactory
  Stream<DynamicTest> randomMutationsNeverThrowAndNeverVerify() throws Exception {
    DcapQuoteVerifier verifier = verifier();
    List<DynamicTest> tests = new ArrayList<>();
    for (DcapCases c : DcapCases.all()) {
      tests.add(
          DynamicTest.dynamicTest(
              c.id(),
              () -> {
                TdxQuote parsed = TdxQuote.parse(c.quote());
                // Bytes after the signature data are ignored by design (real quotes carry padding):
                // mutate only before.
                int end = parsed.signedRegion().length() + 4 + (int) parsed.signatureDataLength();
                Random rnd = new Random(c.id().hashCode());
                DcapCases.Check check = c.checks().isEmpty() ? null : c.checks().get(0);
                for (int i = 0; i < MUTATIONS_PER_QUOTE; i++) {
                  byte[] m = mutate(c.quote(), end, parsed, rnd, i % 4);
                  try {
                    TdxQuote.parse(m);
                  } catch (QuoteParseException expected) {
                    // a typed parse error is a correct outcome
                  }
                  if (check != null) {
                    QuoteVerificationResult r = verifier.verify(m, check.collateral(), check.at());
                    assertFalse(r.valid(), () -> c.id() + " mutation " + rnd + " verified");
                    assertTrue(r.error() != null && r.failure() != null);
                  }
                }
              }));
    }
    return tests.stream();
  }

  private static byte[] mutate(byte[] quote, int end, TdxQuote parsed, Random rnd, int kind) {
    switch (kind) {
      case 0 -> { // truncation anywhere before the end of the signature data
        return Arrays.copyOf(quote, rnd.nextInt(end));
      }
      case 1, 2 -> { // 1..4 byte flips
        byte[] m = quote.clone();
        int flips = 1 + rnd.nextInt(4);
        for (int f = 0; f < flips; f++) {
          m[rnd.nextInt(end)] ^= (byte) (1 + rnd.nextInt(255));
        }
        return m;
      }
      default -> { // a length field set to a random (often huge) value
        byte[] m = quote.clone();
        int sigLenOffset = parsed.signedRegion().length();
        int[] lengthFields = {
          sigLenOffset, sigLenOffset + 4 + 128 + 2, sigLenOffset + 4 + 128 + 6 + 384 + 64
        };
        int at = lengthFields[rnd.nextInt(lengthFields.length)];
        int v = rnd.nextBoolean() ? rnd.nextInt() : rnd.nextInt(0x2000);
        for (int b = 0; b < 4 && at + b < m.length; b++) {
          m[at + b] = (byte) (v >>> (8 * b));
        }
        return m.length == quote.length && Arrays.equals(m, quote)
            ? Arrays.copyOf(quote, end - 1)
            : m;
      }
    }
  }

  @Test
  void parserRejectsEmptyAndTinyInputWithTypedErrors() {
    assertThrows(QuoteParseException.class, () -> TdxQuote.parse(new byte[0]));
    assertThrows(QuoteParseException.class, () -> TdxQuote.parse(new byte[47]));
    assertThrows(QuoteParseException.class, () -> TdxQuote.parse(null));
    byte[] hugeLength = DcapCases.byId("dcapqvl_tdx_v4").quote().clone();
    hugeLength[632] =
        hugeLength[633] = hugeLength[634] = hugeLength[635] = (byte) 0xff; // sig data len 4 GiB
    QuoteParseException e =
        assertThrows(QuoteParseException.class, () -> TdxQuote.parse(hugeLength));
    assertTrue(e.getMessage().contains("signature_data needs 4294967295 bytes"), e.getMessage());
  }

  @Test
  void oversizedInputIsParsedUpToSignatureDataLength() throws Exception {
    byte[] q = DcapCases.byId("dcapqvl_tdx_v5_outdated").quote();
    byte[] padded = Arrays.copyOf(q, q.length + 100_000);
    TdxQuote a = TdxQuote.parse(q);
    TdxQuote b = TdxQuote.parse(padded);
    assertEquals(0, a.trailingBytes());
    assertEquals(100_000, b.trailingBytes());
    assertEquals(a.tdReport(), b.tdReport());
  }

  @Test
  void cos113QuoteWith3065BytesOfPaddingParses() throws Exception {
    TdxQuote q = TdxQuote.parse(Fixtures.bytes("go-tdx-guest/ccel/cos-113-tdx-quote.dat"));
    assertEquals(3065, q.trailingBytes());
    assertEquals(
        Bytes.copyOf(Fixtures.bytes("go-tdx-guest/ccel/nonce.dat")), q.tdReport().reportData());
    assertEquals(
        "00806f050000",
        PckExtension.of(Pem.strictCertificateChain(q.pckCertChainPem().toByteArray()).get(0))
            .fmspc()
            .hex());
  }

  @Test
  void hexQuoteFilesDecodeWithAndWithoutPrefix() throws Exception {
    byte[] fromHex = TdxQuote.decodeFile(Fixtures.bytes("dcap-qvl/tdx-quote.hex"));
    assertEquals(5006, fromHex.length);
    assertTrue(
        new String(
                Fixtures.bytes("dcap-qvl/tdx-quote.hex"),
                0,
                2,
                java.nio.charset.StandardCharsets.US_ASCII)
            .equals("0x"));
    assertEquals(5006, TdxQuote.decodeFile(Fixtures.bytes("dcap-qvl/quote-from-tappd.hex")).length);
    byte[] bin = Fixtures.bytes("dcap-qvl/tdx_quote_v4.bin");
    assertTrue(Arrays.equals(bin, TdxQuote.decodeFile(bin)));
    assertThrows(QuoteParseException.class, () -> TdxQuote.decodeFile("0x0400abc".getBytes()));
  }
}
