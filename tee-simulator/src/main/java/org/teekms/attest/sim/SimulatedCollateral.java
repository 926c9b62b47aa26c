package org.teekms.attest.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.SignedJson;
import org.teekms.crypto.Bytes;

/**
 * Collateral for a {@link SimulatedTdx} platform, signed by its simulated Intel PKI, as the files
 * of a collateral directory (Intel PCS layout: {@code tcb_info.json}, {@code qe_identity.json},
 * issuer chains, CRLs as DER).
 *
 * @param tcbInfoJson the exact signed text of the TCB info object
 * @param tcbInfoSignature raw r‖s over {@code tcbInfoJson}
 * @param qeIdentityJson the exact signed text of the QE identity object
 * @param qeIdentitySignature raw r‖s over {@code qeIdentityJson}
 */
public record SimulatedCollateral(
    String tcbInfoJson,
    Bytes tcbInfoSignature,
    String tcbInfoIssuerChainPem,
    String qeIdentityJson,
    Bytes qeIdentitySignature,
    String qeIdentityIssuerChainPem,
    Bytes pckCrlDer,
    String pckCrlIssuerChainPem,
    Bytes rootCaCrlDer) {

  /** The directory's files by name. */
  public Map<String, byte[]> files() {
    Map<String, byte[]> f = new LinkedHashMap<>();
    f.put("tcb_info.json", pcsBody("tcbInfo", tcbInfoJson, tcbInfoSignature));
    f.put("tcb_info_issuer_chain.pem", tcbInfoIssuerChainPem.getBytes(StandardCharsets.US_ASCII));
    f.put("qe_identity.json", pcsBody("enclaveIdentity", qeIdentityJson, qeIdentitySignature));
    f.put(
        "qe_identity_issuer_chain.pem",
        qeIdentityIssuerChainPem.getBytes(StandardCharsets.US_ASCII));
    f.put("pck_crl.der", pckCrlDer.toByteArray());
    f.put("pck_crl_issuer_chain.pem", pckCrlIssuerChainPem.getBytes(StandardCharsets.US_ASCII));
    f.put("root_ca_crl.der", rootCaCrlDer.toByteArray());
    return f;
  }

  /** The same collateral as the DCAP verifier's model. */
  public Collateral toCollateral() {
    try {
      return new Collateral(
          new SignedJson(tcbInfoJson, tcbInfoSignature),
          Pem.certificates(bytes(tcbInfoIssuerChainPem)),
          new SignedJson(qeIdentityJson, qeIdentitySignature),
          Pem.certificates(bytes(qeIdentityIssuerChainPem)),
          pckCrlDer,
          Pem.certificates(bytes(pckCrlIssuerChainPem)),
          rootCaCrlDer);
    } catch (CertificateException e) {
      throw new IllegalStateException("simulated issuer chains are well-formed PEM", e);
    }
  }

  private static byte[] bytes(String pem) {
    return pem.getBytes(StandardCharsets.US_ASCII);
  }

  public Path writeTo(Path dir) throws IOException {
    Files.createDirectories(dir);
    for (Map.Entry<String, byte[]> e : files().entrySet()) {
      Files.write(dir.resolve(e.getKey()), e.getValue());
    }
    return dir;
  }

  private static byte[] pcsBody(String field, String json, Bytes signature) {
    return ("{\"" + field + "\":" + json + ",\"signature\":\"" + signature.hex() + "\"}")
        .getBytes(StandardCharsets.UTF_8);
  }
}
