package org.teekms.attest.tdx;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.CollateralRequest;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.Bytes;

/**
 * Verifies Intel DCAP quotes (TDX and SGX) at an explicit time against a configured trust anchor:
 *
 * <ol>
 *   <li>the header's QE vendor id is Intel's ({@link #INTEL_QE_VENDOR_ID}), checked before anything
 *       else as Intel's QVL does (its quote format check) and dcap-qvl does;
 *   <li>collateral: root CA CRL signed by the anchor; TCB info and QE identity signatures over
 *       their exact JSON bytes, with issuer chains to the anchor; PCK CRL signed by its issuer,
 *       chain to the anchor; every document, CRL and certificate valid at the time; no signer
 *       revoked;
 *   <li>PCK chain from the quote to the anchor, valid at the time, leaf and intermediates not
 *       revoked;
 *   <li>QE report signed by the PCK key; QE report data = SHA-256(attestation key ‖ QE auth data);
 *   <li>quote (header and body) signed by the attestation key;
 *   <li>TCB evaluation ({@link TcbLevelMatcher}): QE identity, platform TCB level, TDX module
 *       identity.
 * </ol>
 *
 * Nothing Intel-specific is built in except the rules: the root CA is whatever anchor this verifier
 * is given. Checking collateral and PCK chains is cached (by content digest) so that, with warm
 * caches, a quote costs its two ECDSA signature checks plus cheap time and CRL look-ups. Instances
 * are thread-safe.
 */
public final class DcapQuoteVerifier {
  private static final int MAX_CACHED = 4096;

  /**
   * Intel's quoting enclave vendor id, 939A7233-F79C-4CA9-940A-0DB3957F0607: the only one DCAP
   * verifiers accept.
   */
  public static final Bytes INTEL_QE_VENDOR_ID = Bytes.fromHex("939a7233f79c4ca9940a0db3957f0607");

  private final CertificatePaths paths;
  private final Cache<String, Object> preparedCollateral = bounded();
  private final Cache<String, Object> pckChains = bounded();
  // A platform's QE report, its PCK signature and its attestation key repeat in every quote the
  // platform makes (the
  // QE certifies its key once). Verifying a signature is a pure function of key, message and
  // signature, so a success
  // is remembered by digest; a decoded attestation key is kept so BouncyCastle reuses its
  // precomputed multiples.
  private final Cache<String, Boolean> verifiedQeReports = bounded();
  private final Cache<String, ECPublicKeyParameters> attestationKeys = bounded();

  public DcapQuoteVerifier(X509Certificate trustAnchor) {
    Objects.requireNonNull(trustAnchor, "trust anchor");
    this.paths = new CertificatePaths(trustAnchor);
  }

  /** A verifier anchored at the Intel SGX Root CA (bundled copy; valid 2018-05-21..2049-12-31). */
  public static DcapQuoteVerifier withIntelRoot() {
    return new DcapQuoteVerifier(intelSgxRootCa());
  }

  public static X509Certificate intelSgxRootCa() {
    try (InputStream in = DcapQuoteVerifier.class.getResourceAsStream("intel_sgx_root_ca.pem")) {
      if (in == null) {
        throw new IllegalStateException("bundled Intel SGX Root CA is missing");
      }
      return Pem.certificates(in.readAllBytes()).get(0);
    } catch (IOException | CertificateException e) {
      throw new IllegalStateException("bundled Intel SGX Root CA cannot be read", e);
    }
  }

  public X509Certificate trustAnchor() {
    return paths.anchor();
  }

  /**
   * Parses and verifies; malformed bytes give an invalid result with {@link
   * VerificationFailure#MALFORMED_QUOTE}.
   */
  public QuoteVerificationResult verify(byte[] quote, Collateral collateral, Instant at) {
    TdxQuote parsed;
    try {
      parsed = TdxQuote.parse(quote);
    } catch (QuoteParseException e) {
      return failed(
          VerificationFailure.MALFORMED_QUOTE, e.getMessage(), at, null, null, null, null);
    }
    return verify(parsed, collateral, at);
  }

  /**
   * Fetches the quote's collateral from {@code source} (put a cache in front of network sources)
   * and verifies.
   */
  public QuoteVerificationResult verify(TdxQuote quote, CollateralSource source, Instant at) {
    Collateral collateral;
    try {
      checkQeVendor(quote); // before any collateral is fetched for it
      PckChain chain =
          pckChain(quote.pckCertChainPem()); // cached: no certificate parsing on the hot path
      collateral =
          source.fetch(
              new CollateralRequest(
                  quote.teeType(),
                  chain.extension().fmspc(),
                  CollateralRequest.PckCa.issuerOf(chain.path().get(0))));
    } catch (VerificationException e) {
      return failed(e.failure(), e.getMessage(), at, quote, null, null, null);
    } catch (CollateralException e) {
      return failed(
          VerificationFailure.COLLATERAL_UNAVAILABLE, e.getMessage(), at, quote, null, null, null);
    }
    return verify(quote, collateral, at);
  }

  public QuoteVerificationResult verify(TdxQuote quote, Collateral collateral, Instant at) {
    Objects.requireNonNull(quote, "quote");
    Objects.requireNonNull(collateral, "collateral");
    Objects.requireNonNull(at, "verification time");
    PckExtension pck = null;
    TcbEvaluation tcb = null;
    try {
      checkQeVendor(quote);
      PreparedCollateral prepared = prepared(collateral);
      prepared.checkAt(at, paths);

      PckChain chain = pckChain(quote.pckCertChainPem());
      pck = chain.extension();
      paths.checkValidity(chain.path(), at, VerificationFailure.PCK_CHAIN_INVALID, "PCK");
      List<X509CRL> crls = List.of(prepared.rootCaCrl(), prepared.pckCrl());
      paths.checkRevocation(chain.path(), crls, "PCK");

      checkQeReportSignature(quote, chain);
      checkQeReportData(quote);
      ECPublicKeyParameters attestationKey = attestationKey(quote);
      if (!EcdsaP256.verify(
          attestationKey,
          quote.signedRegion().toByteArray(),
          quote.quoteSignature().toByteArray())) {
        throw new VerificationException(
            VerificationFailure.QUOTE_SIGNATURE_INVALID,
            "unable to verify the quote's header and body with its ECDSA attestation key");
      }

      tcb = TcbLevelMatcher.evaluate(quote, pck, prepared.tcbInfo(), prepared.qeIdentity());
      if (tcb.status() == TcbStatus.Revoked) {
        throw new VerificationException(
            VerificationFailure.TCB_REVOKED, "the platform's TCB level is Revoked");
      }
      return new QuoteVerificationResult(
          true, null, null, at, quote, pck, tcb, collateral.digests());
    } catch (VerificationException e) {
      return failed(e.failure(), e.getMessage(), at, quote, pck, tcb, collateral.digests());
    }
  }

  private static void checkQeVendor(TdxQuote quote) throws VerificationException {
    Bytes vendor = quote.header().qeVendorId();
    if (!INTEL_QE_VENDOR_ID.equals(vendor)) {
      throw new VerificationException(
          VerificationFailure.UNSUPPORTED_QE_VENDOR,
          "QE vendor id " + vendor.hex() + " is not Intel's " + INTEL_QE_VENDOR_ID.hex());
    }
  }

  private static void checkQeReportData(TdxQuote quote) throws VerificationException {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      quote.attestationKey().updateDigest(sha);
      quote.qeAuthData().updateDigest(sha);
      byte[] expected = sha.digest();
      byte[] reportData = quote.qeReport().reportData().toByteArray();
      boolean ok = MessageDigest.isEqual(expected, java.util.Arrays.copyOf(reportData, 32));
      for (int i = 32; i < 64; i++) {
        ok &= reportData[i] == 0;
      }
      if (!ok) {
        throw new VerificationException(
            VerificationFailure.QE_REPORT_DATA_MISMATCH,
            "QE report data is not SHA-256(attestation key || QE auth data) followed by zeros");
      }
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void checkQeReportSignature(TdxQuote quote, PckChain chain) throws VerificationException {
    byte[] report = quote.qeReportRaw().toByteArray();
    byte[] signature = quote.qeReportSignature().toByteArray();
    String key =
        CertificatePaths.sha256(chain.leafKey().getQ().getEncoded(false), report, signature);
    if (verifiedQeReports.getIfPresent(key) != null) {
      return;
    }
    if (!EcdsaP256.verify(chain.leafKey(), report, signature)) {
      throw new VerificationException(
          VerificationFailure.QE_REPORT_SIGNATURE_INVALID,
          "QE report signature does not verify with the PCK certificate key");
    }
    verifiedQeReports.put(key, Boolean.TRUE);
  }

  private ECPublicKeyParameters attestationKey(TdxQuote quote) throws VerificationException {
    byte[] raw = quote.attestationKey().toByteArray();
    String id = java.util.HexFormat.of().formatHex(raw);
    ECPublicKeyParameters key = attestationKeys.getIfPresent(id);
    if (key == null) {
      try {
        key = EcdsaP256.rawKey(raw);
      } catch (IllegalArgumentException e) {
        throw new VerificationException(
            VerificationFailure.QUOTE_SIGNATURE_INVALID,
            "attestation key is not a P-256 point: " + e.getMessage());
      }
      attestationKeys.put(id, key);
    }
    return key;
  }

  /**
   * One of this verifier's memo caches: bounded against unbounded input (least useful entries
   * evicted).
   */
  private static <V> Cache<String, V> bounded() {
    return Caffeine.newBuilder().maximumSize(MAX_CACHED).build();
  }

  private PreparedCollateral prepared(Collateral c) throws VerificationException {
    Object cached = preparedCollateral.getIfPresent(c.id());
    if (cached == null) {
      try {
        cached = PreparedCollateral.prepare(c, paths);
      } catch (VerificationException e) {
        cached = e;
      }
      preparedCollateral.put(c.id(), cached);
    }
    if (cached instanceof VerificationException e) {
      throw new VerificationException(e.failure(), e.getMessage());
    }
    return (PreparedCollateral) cached;
  }

  /** A PCK chain from a quote, parsed and verified to the anchor (time-independent parts). */
  private record PckChain(
      List<X509Certificate> path, PckExtension extension, ECPublicKeyParameters leafKey) {}

  private PckChain pckChain(Bytes pem) throws VerificationException {
    String key = CertificatePaths.sha256(pem.toByteArray());
    Object cached = pckChains.getIfPresent(key);
    if (cached == null) {
      try {
        cached = buildPckChain(pem);
      } catch (VerificationException e) {
        cached = e;
      }
      pckChains.put(key, cached);
    }
    if (cached instanceof VerificationException e) {
      throw new VerificationException(e.failure(), e.getMessage());
    }
    return (PckChain) cached;
  }

  private PckChain buildPckChain(Bytes pem) throws VerificationException {
    List<X509Certificate> certs;
    try {
      certs = Pem.strictCertificateChain(pem.toByteArray());
    } catch (CertificateException e) {
      throw new VerificationException(
          VerificationFailure.PCK_CHAIN_INVALID, "PCK certificate chain: " + e.getMessage());
    }
    List<X509Certificate> path =
        paths.path(certs, VerificationFailure.PCK_CHAIN_INVALID, "PCK chain");
    try {
      PckExtension ext = PckExtension.of(path.get(0));
      // decoded here, not in the process-wide key cache of issuers: a leaf key belongs to one
      // platform
      return new PckChain(path, ext, EcdsaP256.certificateKey(path.get(0).getPublicKey()));
    } catch (QuoteParseException | IllegalArgumentException e) {
      throw new VerificationException(
          VerificationFailure.PCK_CHAIN_INVALID, "PCK certificate: " + e.getMessage());
    }
  }

  private static QuoteVerificationResult failed(
      VerificationFailure failure,
      String error,
      Instant at,
      TdxQuote quote,
      PckExtension pck,
      TcbEvaluation tcb,
      java.util.Map<String, String> digests) {
    return new QuoteVerificationResult(false, failure, error, at, quote, pck, tcb, digests);
  }
}
