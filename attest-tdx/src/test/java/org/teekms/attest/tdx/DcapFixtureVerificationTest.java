package org.teekms.attest.tdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.teekms.attest.Fixtures;

/**
 * Every DCAP quote in fixtures/expected: the parse matches {@code parsed}, and each {@code
 * verification[]} entry, run at its {@code verification_time} with its collateral under the Intel
 * root from the fixtures, reproduces the independent verdict (validity, status, advisory IDs; "No
 * matching TCB level found" is a failure).
 */
class DcapFixtureVerificationTest {
  private static final HexFormat HEX = HexFormat.of();

  @TestFactory
  Stream<DynamicTest> fixturesVerifyAsExpected() throws Exception {
    X509Certificate root = Pem.certificates(Fixtures.bytes("common/intel_sgx_root_ca.pem")).get(0);
    DcapQuoteVerifier verifier = new DcapQuoteVerifier(root);
    List<DynamicTest> tests = new ArrayList<>();
    for (DcapCases c : DcapCases.all()) {
      tests.add(DynamicTest.dynamicTest(c.id() + " parses as expected", () -> checkParse(c)));
      for (DcapCases.Check check : c.checks()) {
        tests.add(
            DynamicTest.dynamicTest(
                c.id() + " verifies as expected with " + check,
                () -> {
                  QuoteVerificationResult r =
                      verifier.verify(c.quote(), check.collateral(), check.at());
                  JsonNode v = check.verdict();
                  if (v.get("ok").asBoolean()) {
                    assertTrue(r.valid(), () -> c.id() + ": " + r.failure() + " " + r.error());
                    assertEquals(v.get("status").asText(), r.status().name());
                    List<String> ids = new ArrayList<>();
                    v.get("advisory_ids").forEach(a -> ids.add(a.asText()));
                    assertEquals(ids, r.advisoryIds());
                    assertEquals(
                        v.get("platform_status").asText(), r.tcb().platformStatus().name());
                    assertEquals(v.get("qe_status").get(0).asText(), r.tcb().qeStatus().name());
                    assertEquals(
                        v.get("platform_tcb_date").asText(), r.tcb().platformTcbDate().toString());
                    // every collateral item used is identified by its digest
                    assertEquals(9, r.collateralDigests().size());
                  } else {
                    assertFalse(r.valid(), c.id() + " must not verify");
                    assertEquals("No matching TCB level found", v.get("error").asText());
                    assertEquals(VerificationFailure.TCB_LEVEL_NOT_FOUND, r.failure(), r.error());
                    assertTrue(r.error().startsWith("No matching TCB level found"), r.error());
                  }
                }));
      }
    }
    return tests.stream();
  }

  private static void checkParse(DcapCases c) throws Exception {
    JsonNode p = c.expected().get("parsed");
    byte[] raw = c.quote();
    assertEquals(c.expected().get("length").asInt(), raw.length);
    assertEquals(
        c.expected().get("sha256").asText(),
        HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(raw)));
    TdxQuote q = TdxQuote.parse(raw);

    JsonNode h = p.get("header");
    assertEquals(h.get("version").asInt(), q.header().version());
    assertEquals(h.get("attestation_key_type").asInt(), q.header().attestationKeyType());
    assertEquals(h.get("tee_type").asLong(), q.header().teeType().code());
    assertEquals(h.get("qe_svn").asInt(), q.header().qeSvn());
    assertEquals(h.get("pce_svn").asInt(), q.header().pceSvn());
    assertEquals(h.get("qe_vendor_id").asText(), q.header().qeVendorId().hex());
    assertEquals(h.get("user_data").asText(), q.header().userData().hex());

    JsonNode b = p.get("body");
    switch (p.get("body_type").asText()) {
      case "td10", "td15" -> {
        TdReport td = q.tdReport();
        assertNotNull(td);
        assertEquals(p.get("body_type").asText().equals("td15"), td.isTd15());
        assertEquals(b.get("tee_tcb_svn").asText(), td.teeTcbSvn().hex());
        assertEquals(b.get("mr_seam").asText(), td.mrSeam().hex());
        assertEquals(b.get("mr_signer_seam").asText(), td.mrSignerSeam().hex());
        assertEquals(b.get("seam_attributes").asText(), td.seamAttributes().hex());
        assertEquals(b.get("td_attributes").asText(), td.tdAttributes().raw().hex());
        assertEquals(b.get("xfam").asText(), td.xfam().hex());
        assertEquals(b.get("mr_td").asText(), td.mrTd().hex());
        assertEquals(b.get("mr_config_id").asText(), td.mrConfigId().hex());
        assertEquals(b.get("mr_owner").asText(), td.mrOwner().hex());
        assertEquals(b.get("mr_owner_config").asText(), td.mrOwnerConfig().hex());
        for (int i = 0; i < 4; i++) {
          assertEquals(b.get("rtmr" + i).asText(), td.rtmr(i).hex());
        }
        assertEquals(b.get("report_data").asText(), td.reportData().hex());
        assertFalse(td.tdAttributes().debug());
        if (td.isTd15()) {
          assertEquals(p.get("v5_body_type").asInt(), q.bodyType());
          assertEquals(b.get("tee_tcb_svn2").asText(), td.teeTcbSvn2().hex());
          assertEquals(b.get("mr_servicetd").asText(), td.mrServiceTd().hex());
        }
      }
      case "sgx_enclave" -> checkEnclaveReport(b, q.enclaveReport());
      default -> throw new AssertionError("unknown body type " + p.get("body_type"));
    }
    assertEquals(p.get("signed_region_len").asInt(), q.signedRegion().length());
    assertEquals(p.get("sig_data_len").asLong(), q.signatureDataLength());
    assertEquals(p.get("trailing_bytes_after_sig_data").asInt(), q.trailingBytes());
    assertEquals(p.get("attestation_key").asText(), q.attestationKey().hex());
    assertEquals(p.get("quote_signature").asText(), q.quoteSignature().hex());
    assertEquals(p.get("qe_auth_data").asText(), q.qeAuthData().hex());
    assertEquals(p.get("cert_data_type").asInt(), q.certificationDataType());
    checkEnclaveReport(p.get("qe_report"), q.qeReport());

    List<X509Certificate> chain = Pem.certificates(q.pckCertChainPem().toByteArray());
    JsonNode pc = p.get("pck_chain");
    assertEquals(pc.size(), chain.size());
    for (int i = 0; i < chain.size(); i++) {
      assertEquals(
          pc.get(i).get("serial").asText(), "0x" + chain.get(i).getSerialNumber().toString(16));
      assertEquals(
          pc.get(i).get("not_after").asText().substring(0, 19),
          chain.get(i).getNotAfter().toInstant().toString().substring(0, 19));
    }
    PckExtension ext = PckExtension.of(chain.get(0));
    JsonNode e = p.get("pck_sgx_extension");
    assertEquals(e.get("ppid").asText(), ext.ppid().hex());
    assertEquals(e.get("pceid").asText(), ext.pceId().hex());
    assertEquals(e.get("fmspc").asText(), ext.fmspc().hex());
    assertEquals(e.get("sgx_type").asInt(), ext.sgxType());
    assertEquals(e.get("pce_svn").asInt(), ext.pceSvn());
    assertEquals(e.get("cpu_svn").asText(), ext.cpuSvn().hex());
    List<Integer> comps = new ArrayList<>();
    e.get("cpu_svn_components").forEach(x -> comps.add(x.asInt()));
    assertEquals(comps, ext.cpuSvnComponents());
    assertEquals(p.get("fmspc").asText(), ext.fmspc().hex().toUpperCase(java.util.Locale.ROOT));
    assertEquals(
        HEX.formatHex(
            MessageDigest.getInstance("SHA-256").digest(HEX.parseHex(e.get("ppid").asText()))),
        ext.deviceId().hex());
  }

  private static void checkEnclaveReport(JsonNode r, EnclaveReport e) {
    assertNotNull(e);
    assertEquals(r.get("mr_enclave").asText(), e.mrEnclave().hex());
    assertEquals(r.get("mr_signer").asText(), e.mrSigner().hex());
    assertEquals(r.get("isv_prod_id").asInt(), e.isvProdId());
    assertEquals(r.get("isv_svn").asInt(), e.isvSvn());
    assertEquals(r.get("attributes").asText(), e.attributes().hex());
    assertEquals(
        Long.parseLong(r.get("misc_select").asText(), 16),
        Long.reverseBytes(e.miscSelect()) >>> 32);
    assertEquals(r.get("cpu_svn").asText(), e.cpuSvn().hex());
    assertEquals(r.get("report_data").asText(), e.reportData().hex());
  }
}
