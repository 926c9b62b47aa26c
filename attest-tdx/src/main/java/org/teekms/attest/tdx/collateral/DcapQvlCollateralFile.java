package org.teekms.attest.tdx.collateral;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import org.teekms.attest.tdx.Pem;
import org.teekms.crypto.Bytes;

/**
 * Collateral in the JSON format of Phala's dcap-qvl ({@code QuoteCollateralV3}): {@code tcb_info}
 * and {@code qe_identity} hold the exact signed JSON text as strings, signatures are hex, chains
 * PEM, CRLs hex DER. A file holds one FMSPC's collateral, so it answers every request with the same
 * collateral (the verifier checks that FMSPC and TEE type match).
 */
public final class DcapQvlCollateralFile implements CollateralSource {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final Collateral collateral;

  private DcapQvlCollateralFile(Collateral collateral) {
    this.collateral = collateral;
  }

  public static DcapQvlCollateralFile load(Path file) throws CollateralException {
    try {
      return new DcapQvlCollateralFile(parse(Files.readAllBytes(file)));
    } catch (IOException e) {
      throw new CollateralException(
          "cannot read collateral file " + file + ": " + e.getMessage(), e);
    }
  }

  public static Collateral parse(byte[] json) throws CollateralException {
    JsonNode n;
    try {
      n = MAPPER.readTree(json);
    } catch (IOException e) {
      String where =
          e instanceof com.fasterxml.jackson.core.JsonProcessingException j
                  && j.getLocation() != null
              ? " (line "
                  + j.getLocation().getLineNr()
                  + ", column "
                  + j.getLocation().getColumnNr()
                  + ")"
              : "";
      throw new CollateralException("collateral file is not valid JSON" + where, e);
    }
    if (n == null || !n.isObject()) {
      throw new CollateralException("collateral file is not a JSON object");
    }
    return new Collateral(
        new SignedJson(
            text(n, "tcb_info"),
            SignedJson.signatureFromHex(text(n, "tcb_info_signature"), "tcb_info")),
        chain(n, "tcb_info_issuer_chain"),
        new SignedJson(
            text(n, "qe_identity"),
            SignedJson.signatureFromHex(text(n, "qe_identity_signature"), "qe_identity")),
        chain(n, "qe_identity_issuer_chain"),
        hexBytes(n, "pck_crl"),
        chain(n, "pck_crl_issuer_chain"),
        hexBytes(n, "root_ca_crl"));
  }

  public Collateral collateral() {
    return collateral;
  }

  @Override
  public Collateral fetch(CollateralRequest request) {
    return collateral;
  }

  private static String text(JsonNode n, String field) throws CollateralException {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual()) {
      throw new CollateralException("collateral file lacks string field \"" + field + "\"");
    }
    return v.asText();
  }

  private static List<X509Certificate> chain(JsonNode n, String field) throws CollateralException {
    try {
      return Pem.certificates(text(n, field));
    } catch (CertificateException e) {
      throw new CollateralException(field + ": " + e.getMessage(), e);
    }
  }

  private static Bytes hexBytes(JsonNode n, String field) throws CollateralException {
    try {
      return Bytes.copyOf(HexFormat.of().parseHex(text(n, field).strip()));
    } catch (IllegalArgumentException e) {
      throw new CollateralException(field + " is not hex", e);
    }
  }
}
