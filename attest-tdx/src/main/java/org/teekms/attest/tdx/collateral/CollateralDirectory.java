package org.teekms.attest.tdx.collateral;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import org.teekms.attest.tdx.Pem;
import org.teekms.crypto.Bytes;

/**
 * A collateral directory with Intel PCS's file layout:
 *
 * <pre>
 * tcb_info.json                 {"tcbInfo":{…},"signature":"…"}  (PCS body, exact bytes)
 * tcb_info_issuer_chain.pem
 * qe_identity.json              {"enclaveIdentity":{…},"signature":"…"}
 * qe_identity_issuer_chain.pem
 * pck_crl.der | pck_crl.pem
 * pck_crl_issuer_chain.pem
 * root_ca_crl.der | root_ca_crl.pem
 * </pre>
 *
 * An issuer chain file may omit the root certificate; the verifier's trust anchor completes it.
 */
public final class CollateralDirectory implements CollateralSource {
  public static final String TCB_INFO = "tcb_info.json";
  public static final String TCB_INFO_CHAIN = "tcb_info_issuer_chain.pem";
  public static final String QE_IDENTITY = "qe_identity.json";
  public static final String QE_IDENTITY_CHAIN = "qe_identity_issuer_chain.pem";
  public static final String PCK_CRL = "pck_crl";
  public static final String PCK_CRL_CHAIN = "pck_crl_issuer_chain.pem";
  public static final String ROOT_CA_CRL = "root_ca_crl";

  private final Collateral collateral;

  private CollateralDirectory(Collateral collateral) {
    this.collateral = collateral;
  }

  public static CollateralDirectory load(Path dir) throws CollateralException {
    return new CollateralDirectory(read(dir));
  }

  public Collateral collateral() {
    return collateral;
  }

  @Override
  public Collateral fetch(CollateralRequest request) {
    return collateral;
  }

  public static Collateral read(Path dir) throws CollateralException {
    if (!Files.isDirectory(dir)) {
      throw new CollateralException("collateral directory " + dir + " does not exist");
    }
    return new Collateral(
        SignedJson.fromPcsBody(bytes(dir.resolve(TCB_INFO)), "tcbInfo"),
        chain(dir.resolve(TCB_INFO_CHAIN)),
        SignedJson.fromPcsBody(bytes(dir.resolve(QE_IDENTITY)), "enclaveIdentity"),
        chain(dir.resolve(QE_IDENTITY_CHAIN)),
        crl(dir, PCK_CRL),
        chain(dir.resolve(PCK_CRL_CHAIN)),
        crl(dir, ROOT_CA_CRL));
  }

  /** Writes {@code c} in this layout (CRLs as DER). Existing files are replaced. */
  public static void write(Collateral c, Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.write(dir.resolve(TCB_INFO), c.tcbInfo().toPcsBody("tcbInfo"));
    Files.writeString(dir.resolve(TCB_INFO_CHAIN), pem(c.tcbInfoIssuerChain()));
    Files.write(dir.resolve(QE_IDENTITY), c.qeIdentity().toPcsBody("enclaveIdentity"));
    Files.writeString(dir.resolve(QE_IDENTITY_CHAIN), pem(c.qeIdentityIssuerChain()));
    Files.write(dir.resolve(PCK_CRL + ".der"), c.pckCrl().toByteArray());
    Files.writeString(dir.resolve(PCK_CRL_CHAIN), pem(c.pckCrlIssuerChain()));
    Files.write(dir.resolve(ROOT_CA_CRL + ".der"), c.rootCaCrl().toByteArray());
  }

  public static String pem(List<X509Certificate> chain) {
    StringBuilder sb = new StringBuilder();
    for (X509Certificate cert : chain) {
      sb.append(Pem.encode(cert));
    }
    return sb.toString();
  }

  private static Bytes crl(Path dir, String base) throws CollateralException {
    Path der = dir.resolve(base + ".der");
    Path pem = dir.resolve(base + ".pem");
    Path file = Files.exists(der) ? der : pem;
    try {
      return Bytes.copyOf(Pem.crl(bytes(file)).getEncoded());
    } catch (CertificateException | java.security.cert.CRLException e) {
      throw new CollateralException(file + ": " + e.getMessage(), e);
    }
  }

  private static List<X509Certificate> chain(Path file) throws CollateralException {
    try {
      return Pem.certificates(bytes(file));
    } catch (CertificateException e) {
      throw new CollateralException(file + ": " + e.getMessage(), e);
    }
  }

  private static byte[] bytes(Path file) throws CollateralException {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new CollateralException("cannot read " + file + ": " + e, e);
    }
  }
}
