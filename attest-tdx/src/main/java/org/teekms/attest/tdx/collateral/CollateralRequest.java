package org.teekms.attest.tdx.collateral;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import org.teekms.attest.tdx.PckExtension;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.TeeType;
import org.teekms.crypto.Bytes;

/**
 * What collateral a quote needs: TCB info for its TEE and FMSPC, and the CRL of the CA that issued
 * its PCK.
 */
public record CollateralRequest(TeeType teeType, Bytes fmspc, PckCa pckCa) {

  /** The intermediate CA that issues PCK certificates (PCS {@code ca=} parameter). */
  public enum PckCa {
    PLATFORM("platform"),
    PROCESSOR("processor");

    private final String pcsName;

    PckCa(String pcsName) {
      this.pcsName = pcsName;
    }

    public String pcsName() {
      return pcsName;
    }

    /**
     * The CA named as the PCK certificate's issuer. Intel names its PCK CAs "Intel SGX PCK Platform
     * CA" and "… Processor CA"; any other issuer is taken as a platform CA.
     */
    public static PckCa issuerOf(X509Certificate pck) {
      return pck.getIssuerX500Principal().getName().contains("Processor") ? PROCESSOR : PLATFORM;
    }
  }

  public static CollateralRequest forQuote(TdxQuote quote) throws QuoteParseException {
    try {
      List<X509Certificate> chain = Pem.certificates(quote.pckCertChainPem().toByteArray());
      PckExtension ext = PckExtension.of(chain.get(0));
      return new CollateralRequest(quote.teeType(), ext.fmspc(), PckCa.issuerOf(chain.get(0)));
    } catch (CertificateException e) {
      throw new QuoteParseException("PCK certificate chain: " + e.getMessage(), e);
    }
  }
}
