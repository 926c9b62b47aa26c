package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.teekms.attest.Fixtures;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralDocuments;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;
import org.teekms.attest.tdx.collateral.SignedJson;

/**
 * Seeded truncations and byte flips of collateral files: parsing fails with a CollateralException
 * or yields collateral; verifying never throws; and mutated collateral verifies only if every item
 * that is checked is unchanged (e.g. a flip in the JSON file's own whitespace, or one that only
 * destroys an optional root certificate copy).
 */
class CollateralMutationTest {
  private static final int MUTATIONS = 1500;

  @Test
  void mutatedDcapQvlCollateralNeverThrowsAndNeverVerifiesWhenChanged() throws Exception {
    byte[] file = Fixtures.bytes("dcap-qvl/tdx_quote_v4_collateral.json");
    Collateral original = DcapQvlCollateralFile.parse(file);
    byte[] quote = Fixtures.bytes("dcap-qvl/tdx_quote_v4.bin");
    Instant at = Instant.parse("2025-07-19T10:00:34Z");
    DcapQuoteVerifier verifier = DcapQuoteVerifier.withIntelRoot();
    assertTrue(verifier.verify(quote, original, at).valid());
    Random rnd = new Random(42);
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    String[] fields = {
      "tcb_info",
      "tcb_info_signature",
      "tcb_info_issuer_chain",
      "qe_identity",
      "qe_identity_signature",
      "qe_identity_issuer_chain",
      "pck_crl",
      "pck_crl_issuer_chain",
      "root_ca_crl"
    };
    int verified = 0;
    for (int i = 0; i < MUTATIONS; i++) {
      byte[] m;
      if (i % 2 == 0) { // raw bytes: mostly parse errors
        m = mutate(file, rnd);
      } else { // one character of one field's value: still well-formed JSON, so verification runs
        var tree = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(file);
        String field = fields[rnd.nextInt(fields.length)];
        char[] v = tree.get(field).asText().toCharArray();
        int at2 = rnd.nextInt(v.length);
        String alphabet = "0123456789abcdefABCDEF{}\":, +/=\nxyz";
        v[at2] = alphabet.charAt(rnd.nextInt(alphabet.length()));
        tree.put(field, new String(v));
        m = json.writeValueAsBytes(tree);
      }
      Collateral c;
      try {
        c = DcapQvlCollateralFile.parse(m);
      } catch (CollateralException expected) {
        continue;
      }
      verified++;
      QuoteVerificationResult r = verifier.verify(quote, c, at);
      if (r.valid()) {
        assertEquals(
            effective(original),
            effective(c),
            "mutation " + i + " changed checked collateral yet verified");
      }
    }
    assertTrue(
        verified > MUTATIONS / 4, "mutated collateral must reach verification often: " + verified);
  }

  @Test
  void mutatedPcsBodiesAndDocumentsNeverThrowUnchecked() throws Exception {
    Random rnd = new Random(7);
    for (String name :
        new String[] {
          "go-tdx-guest/sample_tcbInfo_response",
          "go-tdx-guest/sample_qeIdentity_response",
          "go-tdx-guest/sample_tcbinfo_response_v5"
        }) {
      byte[] body = Fixtures.bytes(name);
      String field = name.contains("qeIdentity") ? "enclaveIdentity" : "tcbInfo";
      for (int i = 0; i < MUTATIONS; i++) {
        try {
          SignedJson doc = SignedJson.fromPcsBody(mutate(body, rnd), field);
          if (field.equals("tcbInfo")) {
            CollateralDocuments.tcbInfo(doc);
          } else {
            CollateralDocuments.qeIdentity(doc);
          }
        } catch (CollateralException expected) {
          // typed error: fine
        }
      }
    }
  }

  @Test
  void mutatedCertificatesAndCrlsGiveTypedErrors() throws Exception {
    Random rnd = new Random(11);
    byte[] pem = Fixtures.bytes("go-tdx-guest/pck_crl_issuer_chain.pem");
    byte[] crl = Fixtures.bytes("go-tdx-guest/pckcrl");
    byte[] der = Fixtures.bytes("common/intel_sgx_root_ca.der");
    for (int i = 0; i < MUTATIONS; i++) {
      try {
        Pem.certificates(mutate(pem, rnd));
      } catch (java.security.cert.CertificateException expected) {
        // typed
      }
      try {
        Pem.crl(mutate(crl, rnd));
      } catch (java.security.cert.CertificateException expected) {
        // typed
      }
      try {
        Pem.certificate(mutate(der, rnd));
      } catch (java.security.cert.CertificateException expected) {
        // typed
      }
    }
  }

  /**
   * What the verifier checks: every item, with issuer chains minus copies of the root (a chain may
   * omit the root, the trust anchor stands in for it; a mutation that only destroys the root's PEM
   * block changes nothing checked).
   */
  private static java.util.List<Object> effective(Collateral c) throws Exception {
    java.security.cert.X509Certificate root = DcapQuoteVerifier.intelSgxRootCa();
    java.util.function.Function<java.util.List<java.security.cert.X509Certificate>, Object> strip =
        chain -> chain.stream().filter(x -> !x.equals(root)).toList();
    return java.util.List.of(
        c.tcbInfo(),
        strip.apply(c.tcbInfoIssuerChain()),
        c.qeIdentity(),
        strip.apply(c.qeIdentityIssuerChain()),
        c.pckCrl(),
        strip.apply(c.pckCrlIssuerChain()),
        c.rootCaCrl());
  }

  private static byte[] mutate(byte[] in, Random rnd) {
    if (rnd.nextInt(3) == 0) {
      return Arrays.copyOf(in, rnd.nextInt(in.length));
    }
    byte[] m = in.clone();
    int flips = 1 + rnd.nextInt(3);
    for (int f = 0; f < flips; f++) {
      m[rnd.nextInt(m.length)] ^= (byte) (1 + rnd.nextInt(255));
    }
    return m;
  }
}
