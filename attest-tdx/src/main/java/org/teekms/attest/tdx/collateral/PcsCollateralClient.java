package org.teekms.attest.tdx.collateral;

import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.ASN1IA5String;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.CRLDistPoint;
import org.bouncycastle.asn1.x509.DistributionPoint;
import org.bouncycastle.asn1.x509.DistributionPointName;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.TeeType;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.NetworkErrors;

/**
 * Fetches collateral from Intel PCS or a PCCS through the v4 API, given its base URL (e.g. {@code
 * https://api.trustedservices.intel.com} or {@code https://pccs.example:8081}; a trailing {@code
 * /sgx|tdx/certification/v4} is accepted):
 *
 * <pre>
 * GET {base}/{tdx|sgx}/certification/v4/tcb?fmspc=…     header TCB-Info-Issuer-Chain (or SGX-TCB-Info-Issuer-Chain)
 * GET {base}/{tdx|sgx}/certification/v4/qe/identity     header SGX-Enclave-Identity-Issuer-Chain
 * GET {base}/sgx/certification/v4/pckcrl?ca=…&amp;encoding=der   header SGX-PCK-CRL-Issuer-Chain
 * GET {base}/sgx/certification/v4/rootcacrl             (PCCS; Intel PCS: the root certificate's CRL distribution point)
 * </pre>
 *
 * Bodies are kept byte for byte (signatures cover them). CRLs may come as DER, PEM or hex (PCCS).
 */
public final class PcsCollateralClient implements CollateralSource {
  private final String base;
  private final HttpClient http;
  private final Duration timeout;

  public PcsCollateralClient(String baseUrl) {
    this(
        baseUrl,
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build(),
        Duration.ofSeconds(30));
  }

  public PcsCollateralClient(String baseUrl, HttpClient http, Duration timeout) {
    String b = baseUrl.strip();
    while (b.endsWith("/")) {
      b = b.substring(0, b.length() - 1);
    }
    for (String suffix : List.of("/sgx/certification/v4", "/tdx/certification/v4")) {
      if (b.endsWith(suffix)) {
        b = b.substring(0, b.length() - suffix.length());
      }
    }
    this.base = b;
    this.http = http;
    this.timeout = timeout;
  }

  @Override
  public Collateral fetch(CollateralRequest request) throws CollateralException {
    String tee = request.teeType() == TeeType.TDX ? "tdx" : "sgx";
    String fmspc = request.fmspc().hex().toUpperCase(java.util.Locale.ROOT);

    HttpResponse<byte[]> tcb = get(base + "/" + tee + "/certification/v4/tcb?fmspc=" + fmspc);
    List<X509Certificate> tcbChain =
        chainHeader(tcb, "TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain");
    SignedJson tcbInfo = SignedJson.fromPcsBody(tcb.body(), "tcbInfo");

    HttpResponse<byte[]> qe = get(base + "/" + tee + "/certification/v4/qe/identity");
    List<X509Certificate> qeChain = chainHeader(qe, "SGX-Enclave-Identity-Issuer-Chain");
    SignedJson qeIdentity = SignedJson.fromPcsBody(qe.body(), "enclaveIdentity");

    HttpResponse<byte[]> pckCrl =
        get(
            base
                + "/sgx/certification/v4/pckcrl?ca="
                + request.pckCa().pcsName()
                + "&encoding=der");
    List<X509Certificate> pckCrlChain = chainHeader(pckCrl, "SGX-PCK-CRL-Issuer-Chain");

    Bytes rootCrl;
    if (isIntelPcs()) {
      rootCrl =
          crl(get(crlDistributionPoint(qeChain.get(qeChain.size() - 1))).body(), "root CA CRL");
    } else {
      rootCrl = crl(get(base + "/sgx/certification/v4/rootcacrl").body(), "root CA CRL");
    }
    return new Collateral(
        tcbInfo,
        tcbChain,
        qeIdentity,
        qeChain,
        crl(pckCrl.body(), "PCK CRL"),
        pckCrlChain,
        rootCrl);
  }

  private boolean isIntelPcs() {
    return base.startsWith("https://api.trustedservices.intel.com");
  }

  private HttpResponse<byte[]> get(String url) throws CollateralException {
    try {
      HttpRequest req = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build();
      HttpResponse<byte[]> resp = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
      if (resp.statusCode() != 200) {
        throw new CollateralException("GET " + url + ": HTTP " + resp.statusCode());
      }
      return resp;
    } catch (IOException | IllegalArgumentException e) {
      throw new CollateralException("GET " + url + ": " + NetworkErrors.inWords(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CollateralException("GET " + url + ": interrupted", e);
    }
  }

  private static List<X509Certificate> chainHeader(HttpResponse<byte[]> resp, String... names)
      throws CollateralException {
    for (String name : names) {
      var value = resp.headers().firstValue(name);
      if (value.isPresent()) {
        // Percent-decoding only: a '+' in base64 must stay a '+'. Only the BEGIN/END lines contain
        // spaces, so a
        // form-encoded '+' there is turned back into a space.
        String pem =
            URLDecoder.decode(value.get().replace("+", "%2B"), StandardCharsets.UTF_8)
                .replace("BEGIN+CERTIFICATE", "BEGIN CERTIFICATE")
                .replace("END+CERTIFICATE", "END CERTIFICATE");
        try {
          return Pem.certificates(pem);
        } catch (CertificateException e) {
          throw new CollateralException("header " + name + ": " + e.getMessage(), e);
        }
      }
    }
    throw new CollateralException(
        resp.uri() + ": response lacks header " + String.join(" / ", names));
  }

  /** DER as served by PCS, PEM, or the hex text some PCCS versions return. */
  static Bytes crl(byte[] body, String what) throws CollateralException {
    byte[] der = body;
    if (body.length > 0 && body[0] != 0x30) {
      String text = new String(body, StandardCharsets.US_ASCII).strip();
      if (!text.startsWith("-----BEGIN")) {
        try {
          der = HexFormat.of().parseHex(text);
        } catch (IllegalArgumentException e) {
          throw new CollateralException(what + " is neither DER, PEM nor hex", e);
        }
      }
    }
    try {
      return Bytes.copyOf(Pem.crl(der).getEncoded());
    } catch (CertificateException | java.security.cert.CRLException e) {
      throw new CollateralException(what + ": " + e.getMessage(), e);
    }
  }

  private static String crlDistributionPoint(X509Certificate cert) throws CollateralException {
    byte[] ext = cert.getExtensionValue(Extension.cRLDistributionPoints.getId());
    if (ext != null) {
      CRLDistPoint dp = CRLDistPoint.getInstance(ASN1OctetString.getInstance(ext).getOctets());
      for (DistributionPoint p : dp.getDistributionPoints()) {
        DistributionPointName name = p.getDistributionPoint();
        if (name != null && name.getType() == DistributionPointName.FULL_NAME) {
          for (GeneralName g : GeneralNames.getInstance(name.getName()).getNames()) {
            if (g.getTagNo() == GeneralName.uniformResourceIdentifier) {
              return ASN1IA5String.getInstance(g.getName()).getString();
            }
          }
        }
      }
    }
    throw new CollateralException("root certificate has no CRL distribution point URL");
  }
}
