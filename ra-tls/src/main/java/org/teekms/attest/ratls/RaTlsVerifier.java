package org.teekms.attest.ratls;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogException;
import org.teekms.attest.eventlog.EventLogVerifier;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.attest.eventlog.VerifiedEventLog;
import org.teekms.attest.gpu.GpuAttestationException;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.gpu.GpuEvidencePolicy;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuNonce;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.gpu.MeasurementResult;
import org.teekms.attest.gpu.OcspResult;
import org.teekms.attest.ratls.RaTlsException.Reason;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.MrSystem;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.VerificationFailure;
import org.teekms.attest.tdx.X509Signatures;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.Bytes;

/**
 * Verifies an RA-TLS certificate end to end and says who the peer is. In order (the first failure
 * is the reason):
 *
 * <ol>
 *   <li>extensions within their size limits ({@link RaTlsCertificateParser});
 *   <li>certificate validity at the clock's time, widened on both ends by the clock-skew allowance
 *       ({@link Builder#clockSkewAllowance}, default none; before notBefore is {@link
 *       Reason#CERTIFICATE_NOT_YET_VALID}, past notAfter {@link Reason#CERTIFICATE_EXPIRED}), its
 *       validity period (notAfter − notBefore) within the lifetime cap ({@link
 *       Builder#maxCertificateLifetime}, default 24 h), and its self-signature;
 *   <li>the quote's REPORTDATA = SHA-512("ratls-cert:" ‖ SPKI) of this certificate ({@link
 *       ReportDataBinding});
 *   <li>the quote via DCAP with collateral from the (caching) source (signature chain, collateral
 *       validity, PCK and TCB revocation), then the {@link QuotePolicy} unless the caller applies
 *       it ({@link Builder#deferQuotePolicy});
 *   <li>the event log replays to the quote's RTMRs and follows the boot sequence;
 *   <li>the {@link OsImageCheck} (never a refusal: it records whether a measurement document proves
 *       the claimed OS image; the identity always carries the hardware-derived {@link MrSystem
 *       mrSystem} for policy);
 *   <li>GPU evidence (if carried and a GPU verifier is configured): measured into RTMR3, nonce
 *       bound to this key, every GPU valid, then the {@link GpuEvidencePolicy}; or, with {@link
 *       Builder#gpuFacts}, the same checks recorded as facts ({@link RaTlsIdentity#gpus()}, one
 *       failed result for evidence that is malformed or not measured) for the caller's policy to
 *       decide;
 *   <li>the application's {@link RaTlsPolicy}.
 * </ol>
 *
 * Accepted identities are cached by certificate fingerprint until the earliest of: the cache TTL,
 * the certificate's end of validity and the collateral's next update, so a peer that reconnects (or
 * an application asking after the handshake) is not verified twice. The same limit bounds how long
 * a connection may use the identity its handshake established ({@link #current}): past it the
 * certificate is verified again (fresh collateral, current policy), and past the certificate's
 * notAfter the connection is refused. Thread-safe.
 */
public final class RaTlsVerifier {
  private final DcapQuoteVerifier dcap;
  private final CollateralSource collateral;
  private final QuotePolicy quotePolicy;
  private final GpuEvidenceVerifier gpuVerifier;
  private final GpuEvidencePolicy gpuPolicy;
  private final boolean gpuFactsOnly;
  private final RaTlsPolicy policy;
  private final OsImageCheck osImageCheck;
  private final Clock clock;
  private final Duration cacheTtl;
  private final int maxCached;
  private final Duration maxCertificateLifetime;
  private final Duration clockSkewAllowance;
  private final RaTlsVerificationListener listener;
  private final ConcurrentHashMap<Bytes, Cached> cache = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Instant> nextUpdates = new ConcurrentHashMap<>();

  private record Cached(RaTlsIdentity identity, Instant expires) {}

  private RaTlsVerifier(Builder b) {
    this.dcap = Objects.requireNonNull(b.dcap, "DCAP verifier");
    this.collateral = Objects.requireNonNull(b.collateral, "collateral source");
    this.quotePolicy = b.quotePolicy;
    this.gpuVerifier = b.gpuVerifier;
    this.gpuPolicy = b.gpuPolicy;
    this.gpuFactsOnly = b.gpuFactsOnly;
    this.policy = b.policy;
    this.osImageCheck = b.osImageCheck;
    this.clock = b.clock;
    this.cacheTtl = b.cacheTtl;
    this.maxCached = b.maxCached;
    this.maxCertificateLifetime = b.maxCertificateLifetime;
    this.clockSkewAllowance = b.clockSkewAllowance;
    this.listener = b.listener;
  }

  /** The default cap on an RA-TLS certificate's validity period (notAfter − notBefore). */
  public static final Duration DEFAULT_MAX_CERTIFICATE_LIFETIME = Duration.ofHours(24);

  /**
   * The largest clock-skew allowance a verifier accepts ({@link Builder#clockSkewAllowance}): it
   * extends every certificate's life by that much, so it stays small against the lifetime cap.
   */
  public static final Duration MAX_CLOCK_SKEW_ALLOWANCE = Duration.ofHours(1);

  /**
   * @param dcap the DCAP verifier, anchored at Intel's root in production (at the simulator's root
   *     in tests)
   */
  public static Builder builder(DcapQuoteVerifier dcap, CollateralSource collateral) {
    return new Builder(dcap, collateral);
  }

  public static final class Builder {
    private final DcapQuoteVerifier dcap;
    private final CollateralSource collateral;
    private QuotePolicy quotePolicy = QuotePolicy.builder().build();
    private GpuEvidenceVerifier gpuVerifier;
    private GpuEvidencePolicy gpuPolicy =
        new GpuEvidencePolicy(0, java.util.Set.of(), null, null, false, false);
    private boolean gpuFactsOnly;
    private RaTlsPolicy policy = RaTlsPolicy.ACCEPT_VERIFIED;
    private OsImageCheck osImageCheck = OsImageCheck.NONE;
    private Clock clock = Clock.systemUTC();
    private Duration cacheTtl = Duration.ofMinutes(10);
    private int maxCached = 10_000;
    private Duration maxCertificateLifetime = DEFAULT_MAX_CERTIFICATE_LIFETIME;
    private Duration clockSkewAllowance = Duration.ZERO;
    private RaTlsVerificationListener listener = RaTlsVerificationListener.NONE;

    private Builder(DcapQuoteVerifier dcap, CollateralSource collateral) {
      this.dcap = dcap;
      this.collateral = collateral;
    }

    /** Default: the strictest {@link QuotePolicy} (UpToDate only, no advisories, no debug TD). */
    public Builder quotePolicy(QuotePolicy p) {
      this.quotePolicy = Objects.requireNonNull(p);
      return this;
    }

    /**
     * Prove the evidence only: no {@link QuotePolicy} in the verification. The caller applies it to
     * the identity's facts ({@link RaTlsIdentity#tcbStatus}, {@link RaTlsIdentity#advisoryIds},
     * {@link RaTlsIdentity#td}) with {@link QuotePolicy#evaluate(org.teekms.attest.tdx.TcbStatus,
     * List, TdReport)} — the KMS does, in admission, where a refusal gets its precise reason and an
     * audit entry instead of a failed handshake. What DCAP proves is still refused here: a quote
     * that does not verify, expired or revoked collateral, a Revoked TCB level.
     */
    public Builder deferQuotePolicy() {
      this.quotePolicy = null;
      return this;
    }

    /**
     * Verify GPU evidence carried in certificates, and apply {@code policy} to the results. Without
     * this, GPU evidence is not examined and {@link RaTlsIdentity#gpus()} is empty.
     */
    public Builder gpu(GpuEvidenceVerifier verifier, GpuEvidencePolicy policy) {
      this.gpuVerifier = Objects.requireNonNull(verifier);
      this.gpuPolicy = Objects.requireNonNull(policy);
      this.gpuFactsOnly = false;
      return this;
    }

    /**
     * Verify GPU evidence carried in certificates and report every result, valid or not, without
     * refusing the certificate for it: the caller applies a per-peer policy (the KMS: each app's
     * on-chain GPU policy, in admission, where a refusal is audited under the app). Evidence that
     * does not decode, or that is not the one measured into RTMR3, is reported as one failed result
     * ({@code MALFORMED_EVIDENCE} / {@code NOT_MEASURED}).
     */
    public Builder gpuFacts(GpuEvidenceVerifier verifier) {
      this.gpuVerifier = Objects.requireNonNull(verifier);
      this.gpuPolicy = new GpuEvidencePolicy(0, java.util.Set.of(), null, null, false, false);
      this.gpuFactsOnly = true;
      return this;
    }

    public Builder policy(RaTlsPolicy p) {
      this.policy = Objects.requireNonNull(p);
      return this;
    }

    /** Default {@link OsImageCheck#NONE}: no measurement document proves an OS image. */
    public Builder osImageCheck(OsImageCheck check) {
      this.osImageCheck = Objects.requireNonNull(check);
      return this;
    }

    public Builder clock(Clock c) {
      this.clock = Objects.requireNonNull(c);
      return this;
    }

    /**
     * How long a verified identity is reused (for reconnecting peers, and by connections after
     * their handshake) before the certificate is verified again; never beyond the certificate's
     * notAfter or the collateral's nextUpdate. Default 10 minutes.
     */
    public Builder cache(Duration ttl, int maxEntries) {
      if (ttl.isNegative()) {
        throw new IllegalArgumentException("identity cache TTL " + ttl + " is negative");
      }
      this.cacheTtl = ttl;
      this.maxCached = maxEntries;
      return this;
    }

    /**
     * Refuse certificates whose validity period (notAfter − notBefore) is longer than {@code cap}
     * ({@link RaTlsException.Reason#CERTIFICATE_LIFETIME_EXCEEDED}). A short lifetime bounds how
     * long a stolen certificate key, or evidence the platform has since lost (a TCB recall), can be
     * presented. Default 24 h.
     */
    public Builder maxCertificateLifetime(Duration cap) {
      if (cap.isNegative() || cap.isZero()) {
        throw new IllegalArgumentException(
            "RA-TLS certificate lifetime cap " + cap + " is not positive");
      }
      this.maxCertificateLifetime = cap;
      return this;
    }

    /**
     * Accept a certificate up to {@code allowance} before its notBefore and up to {@code allowance}
     * after its notAfter, for peers whose clocks differ from this verifier's by at most that much.
     * Beyond it the certificate is refused ({@link RaTlsException.Reason#CERTIFICATE_NOT_YET_VALID}
     * or {@link RaTlsException.Reason#CERTIFICATE_EXPIRED}, fail closed). It loosens the validity
     * check, so it is bounded: 0 to {@link #MAX_CLOCK_SKEW_ALLOWANCE}. Default none.
     */
    public Builder clockSkewAllowance(Duration allowance) {
      if (allowance.isNegative() || allowance.compareTo(MAX_CLOCK_SKEW_ALLOWANCE) > 0) {
        throw new IllegalArgumentException(
            "RA-TLS clock-skew allowance "
                + allowance
                + " is outside 0.."
                + MAX_CLOCK_SKEW_ALLOWANCE);
      }
      this.clockSkewAllowance = allowance;
      return this;
    }

    /** Told about every verification (metrics). */
    public Builder listener(RaTlsVerificationListener l) {
      this.listener = Objects.requireNonNull(l);
      return this;
    }

    public RaTlsVerifier build() {
      return new RaTlsVerifier(this);
    }
  }

  public Clock clock() {
    return clock;
  }

  public Duration maxCertificateLifetime() {
    return maxCertificateLifetime;
  }

  /** How far outside its validity period a certificate is still accepted (both ends). */
  public Duration clockSkewAllowance() {
    return clockSkewAllowance;
  }

  /**
   * The certificate's validity at {@code now}, widened by the clock-skew allowance: before
   * notBefore − allowance is {@link Reason#CERTIFICATE_NOT_YET_VALID}, at or after notAfter +
   * allowance {@link Reason#CERTIFICATE_EXPIRED}; the detail names both bounds, the time and the
   * allowance, followed by {@code advice}.
   */
  private void checkValidity(X509Certificate certificate, Instant now, String what, String advice)
      throws RaTlsException {
    Instant notBefore = certificate.getNotBefore().toInstant();
    Instant notAfter = certificate.getNotAfter().toInstant();
    boolean early = now.plus(clockSkewAllowance).isBefore(notBefore);
    if (!early && now.minus(clockSkewAllowance).isBefore(notAfter)) {
      return;
    }
    String window =
        what
            + " valid "
            + notBefore
            + " .. "
            + notAfter
            + ", not at "
            + now
            + (clockSkewAllowance.isZero()
                ? ""
                : " (clock-skew allowance " + clockSkewAllowance + ")");
    if (early) {
      throw new RaTlsException(
          Reason.CERTIFICATE_NOT_YET_VALID,
          window
              + ": not yet valid, "
              + Duration.between(now, notBefore).toSeconds()
              + " s ahead of this verifier's clock (the peer's clock is ahead, or this one is"
              + " behind)"
              + advice);
    }
    throw new RaTlsException(Reason.CERTIFICATE_EXPIRED, window + advice);
  }

  /**
   * The identity a connection may use for a call now, given the one its handshake (or an earlier
   * call) established for {@code certificate}. In order:
   *
   * <ol>
   *   <li>past the certificate's notAfter (or before its notBefore), beyond the clock-skew
   *       allowance: refused, {@link Reason#CERTIFICATE_EXPIRED} (the peer must re-connect with a
   *       fresh certificate) or {@link Reason#CERTIFICATE_NOT_YET_VALID};
   *   <li>within the verification's cache limit (TTL, collateral nextUpdate): the cached identity;
   *   <li>otherwise the certificate is verified again, in full, now (fresh collateral, current
   *       policy); a failure is the refusal's reason.
   * </ol>
   *
   * @param stored the identity established earlier for {@code certificate}, or null
   */
  public RaTlsIdentity current(X509Certificate certificate, RaTlsIdentity stored)
      throws RaTlsException {
    checkValidity(
        certificate,
        clock.instant(),
        "the connection's peer certificate is",
        "; the identity verified in its handshake is no longer used: "
            + "re-connect with a fresh RA-TLS certificate");
    if (stored != null) {
      Optional<RaTlsIdentity> cachedNow = cached(stored.certificateSha256());
      if (cachedNow.isPresent()) {
        return cachedNow.get();
      }
    }
    return verify(certificate);
  }

  /**
   * The cached identity of a certificate (by SHA-256 of its DER), if it verified and has not
   * expired from cache.
   */
  public Optional<RaTlsIdentity> cached(Bytes certificateSha256) {
    Cached c = cache.get(certificateSha256);
    if (c == null || !clock.instant().isBefore(c.expires())) {
      return Optional.empty();
    }
    return Optional.of(c.identity());
  }

  /** Verifies (or returns the cached verification of) {@code certificate}. */
  public RaTlsIdentity verify(X509Certificate certificate) throws RaTlsException {
    long start = System.nanoTime();
    try {
      Recalled r = verifyOrRecall(certificate);
      listener.verified(
          Duration.ofNanos(System.nanoTime() - start), r.cacheHit(), Optional.empty());
      return r.identity();
    } catch (RaTlsException e) {
      listener.verified(
          Duration.ofNanos(System.nanoTime() - start), false, Optional.of(e.reason()));
      throw e;
    }
  }

  /** An identity and whether it came from the cache (the listener's metrics tell the two apart). */
  private record Recalled(RaTlsIdentity identity, boolean cacheHit) {}

  private Recalled verifyOrRecall(X509Certificate certificate) throws RaTlsException {
    byte[] der;
    try {
      der = certificate.getEncoded();
    } catch (CertificateEncodingException e) {
      throw new RaTlsException(Reason.MALFORMED_CERTIFICATE, "cannot encode certificate", e);
    }
    Bytes fingerprint = Bytes.copyOf(sha("SHA-256", der));
    Optional<RaTlsIdentity> hit = cached(fingerprint);
    if (hit.isPresent()) {
      return new Recalled(hit.get(), true);
    }
    Instant now = clock.instant();
    Verified v = verifyUncached(certificate, der, fingerprint, now);
    Instant expires =
        min(now.plus(cacheTtl), min(v.identity().certificateNotAfter(), v.collateralNextUpdate()));
    if (cache.size() >= maxCached) {
      cache.clear();
    }
    cache.put(fingerprint, new Cached(v.identity(), expires));
    return new Recalled(v.identity(), false);
  }

  private record Verified(RaTlsIdentity identity, Instant collateralNextUpdate) {}

  private Verified verifyUncached(
      X509Certificate certificate, byte[] der, Bytes fingerprint, Instant now)
      throws RaTlsException {
    RaTlsEvidence evidence = RaTlsCertificateParser.parse(der);
    checkValidity(certificate, now, "certificate", "");
    Duration lifetime =
        Duration.between(
            certificate.getNotBefore().toInstant(), certificate.getNotAfter().toInstant());
    if (lifetime.compareTo(maxCertificateLifetime) > 0) {
      throw new RaTlsException(
          Reason.CERTIFICATE_LIFETIME_EXCEEDED,
          "certificate valid "
              + certificate.getNotBefore().toInstant()
              + " .. "
              + certificate.getNotAfter().toInstant()
              + " ("
              + lifetime
              + "), longer than the "
              + maxCertificateLifetime
              + " cap on RA-TLS certificate lifetimes");
    }
    if (!X509Signatures.verifies(certificate, certificate.getPublicKey())) {
      throw new RaTlsException(
          Reason.CERTIFICATE_SIGNATURE,
          "self-signature does not verify with the certificate's own key ("
              + certificate.getSigAlgName()
              + ")");
    }

    TdxQuote quote;
    try {
      quote = TdxQuote.parse(evidence.quote().toByteArray());
    } catch (QuoteParseException e) {
      throw new RaTlsException(Reason.QUOTE_INVALID, "malformed quote: " + e.getMessage());
    }
    TdReport td = quote.tdReport();
    if (td == null) {
      throw new RaTlsException(
          Reason.QUOTE_INVALID, "not a TDX quote (TEE type " + quote.teeType() + ")");
    }
    if (!ReportDataBinding.binds(td.reportData().toByteArray(), evidence.spki().toByteArray())) {
      throw new RaTlsException(
          Reason.KEY_NOT_BOUND,
          "quote REPORTDATA "
              + td.reportData().hex()
              + " is not SHA-512(\"ratls-cert:\" || SPKI) of this certificate's key");
    }

    // the DCAP verifier looks the collateral up from its cached PCK chain; remember which
    // collateral it used
    RecordingSource used = new RecordingSource(collateral);
    QuoteVerificationResult result = dcap.verify(quote, used, now);
    if (!result.valid()) {
      throw new RaTlsException(
          result.failure() == VerificationFailure.COLLATERAL_UNAVAILABLE
              ? Reason.COLLATERAL_UNAVAILABLE
              : Reason.QUOTE_INVALID,
          result.failure() + ": " + result.error());
    }
    Instant collateralNextUpdate = nextUpdate(used.last());
    if (quotePolicy != null) {
      QuotePolicy.Decision decision = quotePolicy.evaluate(result);
      if (!decision.allowed()) {
        throw new RaTlsException(
            Reason.POLICY_REJECTED, "quote policy: " + String.join("; ", decision.violations()));
      }
    }

    VerifiedEventLog log;
    List<org.teekms.attest.eventlog.EventLogEntry> entries;
    try {
      entries = DstackEventLogCodec.parse(evidence.eventLogJson().toByteArray());
      log = EventLogVerifier.verify(entries, QuotedMeasurements.of(td));
    } catch (EventLogException e) {
      throw new RaTlsException(Reason.EVENT_LOG_INVALID, e.getMessage());
    }

    List<GpuResult> gpus = List.of();
    if (gpuVerifier != null) {
      gpus = verifyGpus(evidence, log, now);
    }
    OsImageProof osImage =
        checkOsImage(td, log, entries, evidence.vmConfig().map(Bytes::toByteArray));

    RaTlsIdentity identity =
        new RaTlsIdentity(
            fingerprint,
            log.identity(),
            log.mrAggregated(),
            td,
            result.status(),
            result.advisoryIds(),
            result.fmspc(),
            result.deviceId(),
            gpus,
            now,
            certificate.getNotAfter().toInstant(),
            MrSystem.of(td),
            osImage);
    Optional<String> refusal = policy.refuse(identity);
    if (refusal.isPresent()) {
      throw new RaTlsException(Reason.POLICY_REJECTED, refusal.get());
    }
    return new Verified(identity, collateralNextUpdate);
  }

  /**
   * A collateral source that remembers the collateral it last returned (what DCAP verified this
   * quote against).
   */
  private static final class RecordingSource implements CollateralSource {
    private final CollateralSource delegate;
    private Collateral last;

    RecordingSource(CollateralSource delegate) {
      this.delegate = delegate;
    }

    @Override
    public Collateral fetch(org.teekms.attest.tdx.collateral.CollateralRequest request)
        throws CollateralException {
      last = delegate.fetch(request);
      return last;
    }

    Collateral last() throws RaTlsException {
      if (last == null) {
        throw new RaTlsException(
            Reason.COLLATERAL_UNAVAILABLE, "the quote verified without collateral");
      }
      return last;
    }
  }

  private List<GpuResult> verifyGpus(RaTlsEvidence evidence, VerifiedEventLog log, Instant now)
      throws RaTlsException {
    try {
      return verifyGpusOrThrow(evidence, log, now);
    } catch (GpuAttestationException e) {
      if (!gpuFactsOnly) {
        throw new RaTlsException(Reason.GPU_EVIDENCE_INVALID, e.getMessage());
      }
      return List.of(
          new GpuResult(
              false,
              null,
              null,
              null,
              MeasurementResult.notChecked(),
              OcspResult.skipped(),
              null,
              false,
              e.reason(),
              e.detail()));
    }
  }

  private List<GpuResult> verifyGpusOrThrow(
      RaTlsEvidence evidence, VerifiedEventLog log, Instant now)
      throws RaTlsException, GpuAttestationException {
    List<GpuResult> gpus = List.of();
    Optional<byte[]> encoded = evidence.gpuEvidence().map(Bytes::toByteArray);
    if (encoded.isPresent()) {
      GpuEvidence gpu = GpuEvidence.decode(encoded.get());
      Optional<Bytes> measured = log.identity().gpuEvidenceHash();
      if (measured.isEmpty() || !measured.get().equalsConstantTime(Bytes.copyOf(gpu.sha384()))) {
        throw new GpuAttestationException(
            GpuAttestationException.Reason.NOT_MEASURED,
            "the certificate's GPU "
                + "evidence is not the one last measured into RTMR3 (gpu-evidence event "
                + measured.map(Bytes::hex).orElse("absent")
                + ")");
      }
      gpus = gpuVerifier.verify(gpu, GpuNonce.forSpki(evidence.spki().toByteArray()), now);
      if (gpuFactsOnly) {
        return gpus;
      }
      for (int i = 0; i < gpus.size(); i++) {
        if (!gpus.get(i).valid()) {
          throw new RaTlsException(
              Reason.GPU_EVIDENCE_INVALID,
              "GPU " + i + ": " + gpus.get(i).failure() + ": " + gpus.get(i).error());
        }
      }
    }
    GpuEvidencePolicy.Decision d = gpuPolicy.apply(gpus);
    if (!d.allowed()) {
      throw new RaTlsException(
          Reason.POLICY_REJECTED, "GPU policy: " + String.join("; ", d.reasons()));
    }
    return gpus;
  }

  /**
   * The OS image check, failing closed: no claimed image, or a check that breaks its contract,
   * proves nothing.
   */
  private OsImageProof checkOsImage(
      TdReport td,
      VerifiedEventLog log,
      List<org.teekms.attest.eventlog.EventLogEntry> entries,
      Optional<byte[]> vmConfig) {
    if (log.identity().osImageHash().isEmpty()) {
      return OsImageProof.notProven("the event log claims no OS image");
    }
    try {
      OsImageProof proof = osImageCheck.check(td, log, entries, vmConfig);
      return proof == null ? OsImageProof.notProven("the OS image check gave no answer") : proof;
    } catch (RuntimeException e) {
      return OsImageProof.notProven("the OS image check failed: " + e.getMessage());
    }
  }

  /**
   * The collateral's earliest nextUpdate, computed once per collateral (it parses the documents and
   * CRLs).
   */
  private Instant nextUpdate(Collateral c) throws RaTlsException {
    Instant cached = nextUpdates.get(c.id());
    if (cached != null) {
      return cached;
    }
    try {
      Instant n = c.nextUpdate();
      if (nextUpdates.size() >= maxCached) {
        nextUpdates.clear();
      }
      nextUpdates.put(c.id(), n);
      return n;
    } catch (CollateralException e) {
      throw new RaTlsException(Reason.COLLATERAL_UNAVAILABLE, "collateral: " + e.getMessage());
    }
  }

  private static Instant min(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }

  static byte[] sha(String algorithm, byte[] data) {
    try {
      return MessageDigest.getInstance(algorithm).digest(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
