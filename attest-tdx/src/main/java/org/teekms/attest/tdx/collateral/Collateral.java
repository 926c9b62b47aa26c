package org.teekms.attest.tdx.collateral;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.teekms.attest.tdx.Pem;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;

/**
 * The DCAP collateral for one quote, exactly as Intel PCS (or a PCCS) serves it: TCB info and QE
 * identity with their signatures and issuer chains, the PCK CRL with its issuer chain, and the root
 * CA CRL (DER). An issuer chain may omit the root certificate; the verifier's trust anchor
 * completes it. Nothing here is trusted until {@code DcapQuoteVerifier} has checked it.
 *
 * <p>{@link #digests()} gives the SHA-256 of each item, and {@link #id()} a digest over all of
 * them, which the verifier uses to cache the result of checking this collateral.
 */
public record Collateral(
    SignedJson tcbInfo,
    List<X509Certificate> tcbInfoIssuerChain,
    SignedJson qeIdentity,
    List<X509Certificate> qeIdentityIssuerChain,
    Bytes pckCrl,
    List<X509Certificate> pckCrlIssuerChain,
    Bytes rootCaCrl,
    Map<String, String> digests,
    String id) {

  public Collateral {
    tcbInfoIssuerChain = List.copyOf(tcbInfoIssuerChain);
    qeIdentityIssuerChain = List.copyOf(qeIdentityIssuerChain);
    pckCrlIssuerChain = List.copyOf(pckCrlIssuerChain);
    if (tcbInfoIssuerChain.isEmpty()
        || qeIdentityIssuerChain.isEmpty()
        || pckCrlIssuerChain.isEmpty()) {
      throw new IllegalArgumentException(
          "every issuer chain needs at least its signing certificate");
    }
    digests = Collections.unmodifiableMap(new LinkedHashMap<>(digests));
    if (id
        == null) { // the convenience constructor below leaves the id to be derived from the digests
      id = sha256Hex(String.join(",", digests.values()).getBytes(StandardCharsets.US_ASCII));
    }
  }

  public Collateral(
      SignedJson tcbInfo,
      List<X509Certificate> tcbInfoIssuerChain,
      SignedJson qeIdentity,
      List<X509Certificate> qeIdentityIssuerChain,
      Bytes pckCrl,
      List<X509Certificate> pckCrlIssuerChain,
      Bytes rootCaCrl) {
    this(
        tcbInfo,
        tcbInfoIssuerChain,
        qeIdentity,
        qeIdentityIssuerChain,
        pckCrl,
        pckCrlIssuerChain,
        rootCaCrl,
        digestsOf(
            tcbInfo,
            tcbInfoIssuerChain,
            qeIdentity,
            qeIdentityIssuerChain,
            pckCrl,
            pckCrlIssuerChain,
            rootCaCrl),
        null);
  }

  private static Map<String, String> digestsOf(
      SignedJson tcbInfo,
      List<X509Certificate> tcbChain,
      SignedJson qeIdentity,
      List<X509Certificate> qeChain,
      Bytes pckCrl,
      List<X509Certificate> pckCrlChain,
      Bytes rootCaCrl) {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("tcbInfo", sha256Hex(tcbInfo.signedBytes()));
    d.put("tcbInfoSignature", sha256Hex(tcbInfo.signature().toByteArray()));
    d.put("tcbInfoIssuerChain", chainDigest(tcbChain));
    d.put("qeIdentity", sha256Hex(qeIdentity.signedBytes()));
    d.put("qeIdentitySignature", sha256Hex(qeIdentity.signature().toByteArray()));
    d.put("qeIdentityIssuerChain", chainDigest(qeChain));
    d.put("pckCrl", sha256Hex(pckCrl.toByteArray()));
    d.put("pckCrlIssuerChain", chainDigest(pckCrlChain));
    d.put("rootCaCrl", sha256Hex(rootCaCrl.toByteArray()));
    return d;
  }

  /**
   * The earliest {@code nextUpdate} of the TCB info, QE identity and both CRLs: after it this
   * collateral is stale and must be fetched again.
   */
  public Instant nextUpdate() throws CollateralException {
    Instant t = CollateralDocuments.tcbInfo(tcbInfo).nextUpdate();
    Instant q = CollateralDocuments.qeIdentity(qeIdentity).nextUpdate();
    Instant min = t.isBefore(q) ? t : q;
    for (Bytes crlBytes : List.of(pckCrl, rootCaCrl)) {
      try {
        X509CRL crl = Pem.crl(crlBytes.toByteArray());
        if (crl.getNextUpdate() == null) {
          throw new CollateralException(
              "CRL " + crl.getIssuerX500Principal() + " has no nextUpdate");
        }
        Instant n = crl.getNextUpdate().toInstant();
        min = n.isBefore(min) ? n : min;
      } catch (CertificateException e) {
        throw new CollateralException(e.getMessage(), e);
      }
    }
    return min;
  }

  private static String chainDigest(List<X509Certificate> chain) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (X509Certificate c : chain) {
        md.update(c.getEncoded());
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  static String sha256Hex(byte[] data) {
    return Digests.sha256Hex(data);
  }
}
