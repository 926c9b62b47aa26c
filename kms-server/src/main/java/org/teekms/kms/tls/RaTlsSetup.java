package org.teekms.kms.tls;

import jakarta.enterprise.context.ApplicationScoped;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.jboss.logging.Logger;
import org.teekms.attest.provider.ConfigfsTsmQuoteProvider;
import org.teekms.attest.provider.EvidenceSource;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RtmrExtender;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.provider.RuntimeEventRecorder;
import org.teekms.attest.provider.TdEventLog;
import org.teekms.attest.provider.TdxSimulation;
import org.teekms.attest.ratls.MeasurementDocumentCheck;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerificationListener;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.collateral.CachingCollateralSource;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.attest.tdx.collateral.PcsCollateralClient;
import org.teekms.kms.wiring.KmsConfig;

/**
 * The KMS's RA-TLS: its own RA-TLS certificate (presented to every client) and the trust manager
 * that verifies clients' RA-TLS certificates (quote via DCAP, event log, GPU evidence per {@link
 * GpuVerification}) during the handshake. The handshake proves the evidence only: the quote policy
 * (TCB status, advisories, debug, TD attributes) is applied in admission ({@code
 * LocalAttestationPolicy}), so its refusals are precise and audited.
 *
 * <p>Production ({@code teekms.tee.quote-provider=configfs-tsm}): quotes from the TD's configfs-tsm
 * interface over the TD's real event log (CCEL + dstack's runtime events, checked against the
 * node's own quote before use); clients verified under the Intel SGX Root CA (or {@code
 * teekms.collateral.root-ca}) with collateral from {@code teekms.collateral.pccs-url}, cached until
 * its nextUpdate or {@code teekms.collateral.max-age}, whichever comes first. Any missing piece
 * stops startup with the reason.
 *
 * <p>Simulator ({@code simulator}, needs teekms.simulator.enabled=true, never in prod): a simulated
 * TDX platform (seeded by teekms.simulator.seed so other processes share its root), this KMS as a
 * simulated CVM, clients verified against the simulated root only.
 *
 * <p>Before its first quote, this node measures its trust configuration ({@link
 * TrustConfiguration}) into RTMR3 ({@link TrustConfigMeasurement}): through {@code rtmr} and
 * dstack's runtime event file in a TD, into the simulated CVM's log otherwise. Every quote (RA-TLS
 * certificate, GetKmsInfo, the sealing-key request) comes after it.
 */
@ApplicationScoped
public class RaTlsSetup {

  private static final Logger LOG = Logger.getLogger(RaTlsSetup.class);
  static final String CONFIGFS_TSM = "configfs-tsm";
  static final String SIMULATOR = "simulator";

  /**
   * Validity of the KMS's RA-TLS certificate (its whole notBefore..notAfter period, within the 24 h
   * cap verifiers apply by default); it is renewed once less than half of it is left.
   */
  static final Duration CERTIFICATE_VALIDITY = Duration.ofDays(1);

  /**
   * Verified client identities kept (by certificate); a full cache is emptied, costing
   * re-verifications only.
   */
  static final int IDENTITY_CACHE_ENTRIES = 10_000;

  private final RaTlsTrustManager trust;
  private final BoundedClientVerification bounded;
  private final boolean gpuVerified;
  private final RaTlsKeyManager keys;
  private final EvidenceSource evidence;
  private final RaTlsCertificateFactory certificates;
  private final String commonName;
  private final Clock clock;
  private final TrustConfiguration trustConfiguration;
  private final Duration clockSkewAllowance;

  /** The clients' collateral cache (empty with the simulator, whose collateral is generated). */
  private final java.util.Optional<CachingCollateralSource> collateralCache;

  public RaTlsSetup(
      KmsConfig config,
      Clock clock,
      ConfigfsTsmQuoteProvider.Io configfs,
      RtmrExtender rtmr,
      RaTlsVerificationListener listener) {
    String provider = quoteProvider(config);
    this.trustConfiguration =
        TrustConfiguration.of(
            config, String.join(",", io.quarkus.runtime.configuration.ConfigUtils.getProfiles()));
    RuntimeEventRecorder measured;
    this.clock = clock;
    this.commonName = "tee-kms " + config.kmsId();
    FastEcdsaProvider
        .install(); // before any TLS context exists: JSSE's ECDSA then runs on BouncyCastle
    JsseLimits.install(); // before any TLS context exists: JSSE reads its handshake limits once
    try {
      DcapQuoteVerifier dcap;
      CollateralSource source;
      if (SIMULATOR.equals(provider)) {
        TdxSimulation.Platform tdx =
            TdxSimulation.load(
                    "teekms.tee.quote-provider=simulator", SimulatorClassLoader.of(config))
                .enable(
                    "tee-kms kms-server simulator",
                    clock,
                    config.simulator().seed().map(HexFormat.of()::parseHex));
        dcap = new DcapQuoteVerifier(tdx.rootCertificate());
        java.util.Optional<String> pccs = config.collateral().pccsUrl();
        if (pccs.isPresent()) {
          // The simulator's collateral from a (simulated) PCCS over HTTP, through the production
          // cache: what bench/faults breaks (PCCS down, slow, serving expired collateral).
          CachingCollateralSource cached = pccsCache(config.collateral(), pccs.get(), clock);
          this.collateralCache = java.util.Optional.of(cached);
          source = logged(cached, pccs.get());
        } else {
          source = tdx.collateralSource();
          this.collateralCache = java.util.Optional.empty();
        }
        byte[] instance = new byte[20];
        instance[0] = 1;
        TdxSimulation.Cvm self =
            tdx.newCvm(new byte[48])
                .bootCompose("tee-kms kms-server " + config.kmsId() + "\n", instance);
        this.evidence = reportData -> self.eventLog().quote(self, reportData);
        measured = self.eventLog();
        LOG.warnf(
            "RA-TLS: SIMULATED TDX platform (root %s); clients are verified against the simulated root only",
            tdx.rootCertificate().getSubjectX500Principal());
      } else {
        KmsConfig.Collateral collateral = config.collateral();
        String pccs =
            collateral
                .pccsUrl()
                .orElseThrow(
                    () ->
                        new IllegalStateException(
                            "teekms.collateral.pccs-url "
                                + "is required with teekms.tee.quote-provider=configfs-tsm: clients' quotes cannot be verified without "
                                + "collateral (Intel PCS https://api.trustedservices.intel.com or a PCCS)"));
        dcap =
            collateral
                .rootCa()
                .map(RaTlsSetup::trustAnchor)
                .orElseGet(DcapQuoteVerifier::withIntelRoot);
        CachingCollateralSource cached = pccsCache(collateral, pccs, clock);
        this.collateralCache = java.util.Optional.of(cached);
        source = logged(cached, pccs);
        KmsConfig.Tee tee = config.tee();
        TdEventLog td =
            new TdEventLog(
                new ConfigfsTsmQuoteProvider(tee.configfsPath(), "tdx_guest", configfs),
                tee.ccelTable(),
                tee.ccelData(),
                tee.runtimeEventLog(),
                rtmr);
        this.evidence = td;
        measured = td;
        LOG.infof(
            "RA-TLS: TDX quotes via configfs-tsm %s, event log %s + %s; clients verified under %s with "
                + "collateral from %s",
            tee.configfsPath(),
            tee.ccelData(),
            tee.runtimeEventLog(),
            dcap.trustAnchor().getSubjectX500Principal(),
            pccs);
      }
      KmsConfig.Ratls ratls = config.ratls();
      if (ratls.clockSkewAllowance().isNegative()
          || ratls.clockSkewAllowance().compareTo(RaTlsVerifier.MAX_CLOCK_SKEW_ALLOWANCE) > 0) {
        throw new IllegalStateException(
            "teekms.ratls.clock-skew-allowance "
                + ratls.clockSkewAllowance()
                + " is outside 0.."
                + RaTlsVerifier.MAX_CLOCK_SKEW_ALLOWANCE
                + ": it extends every certificate's validity by that much");
      }
      // The handshake proves the evidence only; the quote policy (teekms.admission.*) is applied
      // once, in admission
      // (LocalAttestationPolicy), where a refusal reaches the client with its precise code and is
      // audited.
      RaTlsVerifier.Builder builder =
          RaTlsVerifier.builder(dcap, source)
              .deferQuotePolicy()
              .clock(clock)
              .osImageCheck(MeasurementDocumentCheck.INSTANCE)
              .cache(ratls.identityCacheTtl(), IDENTITY_CACHE_ENTRIES)
              .maxCertificateLifetime(ratls.maxCertificateLifetime())
              .clockSkewAllowance(ratls.clockSkewAllowance())
              .listener(listener);
      // GPU evidence is verified in the handshake; each app's on-chain GPU policy is applied in
      // admission.
      java.util.Optional<org.teekms.attest.gpu.GpuEvidenceVerifier> gpu =
          GpuVerification.build(
              config, io.quarkus.runtime.configuration.ConfigUtils.getProfiles().contains("prod"));
      gpu.ifPresent(builder::gpuFacts);
      this.gpuVerified = gpu.isPresent();
      RaTlsVerifier verifier = builder.build();
      this.trust = RaTlsTrustManager.deferringClientRejections(verifier);
      KmsConfig.Limits limits = config.limits();
      this.bounded =
          new BoundedClientVerification(
              trust,
              new org.teekms.kms.grpc.SourceRateLimiter(
                  limits.handshakesPerMinute(),
                  limits.handshakeBurst(),
                  limits.maxSources(),
                  System::nanoTime),
              limits.concurrentVerifications(),
              limits.verificationWait());
      TrustConfigMeasurement.Outcome outcome =
          TrustConfigMeasurement.measure(trustConfiguration, measured);
      LOG.infof(
          "trust configuration %s (%d keys: %s) %s RTMR3 as %s",
          trustConfiguration.digestHex(),
          trustConfiguration.keys().size(),
          String.join(", ", trustConfiguration.keys()),
          outcome == TrustConfigMeasurement.Outcome.EXTENDED
              ? "measured into"
              : "already in (same boot)",
          TrustConfiguration.EVENT_NAME);
      // back-dated by the clock-skew allowance: clients whose clocks are up to that much behind
      // this node's accept it
      this.certificates =
          new RaTlsCertificateFactory(
              evidence, clock, CERTIFICATE_VALIDITY, ratls.clockSkewAllowance());
      this.clockSkewAllowance = ratls.clockSkewAllowance();
      this.keys = new RaTlsKeyManager(certificates.create(commonName));
    } catch (QuoteProviderException e) {
      throw new IllegalStateException(
          "RA-TLS setup failed: this node cannot attest itself: " + e.getMessage(), e);
    } catch (IllegalStateException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("RA-TLS setup failed: " + e.getMessage(), e);
    }
  }

  /** Clients' collateral from a PCS/PCCS, cached within {@code teekms.collateral.max-age}. */
  private static CachingCollateralSource pccsCache(
      KmsConfig.Collateral collateral, String pccs, Clock clock) {
    return new CachingCollateralSource(
        new PcsCollateralClient(
            pccs,
            HttpClient.newBuilder()
                .connectTimeout(collateral.timeout())
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build(),
            collateral.timeout()),
        clock,
        collateral.maxAge());
  }

  /**
   * Each refused client gets the reason (KMS_UNAVAILABLE); the operator sees the outage in this
   * node's log.
   */
  private static CollateralSource logged(CachingCollateralSource cached, String pccs) {
    return request -> {
      try {
        return cached.fetch(request);
      } catch (CollateralException e) {
        LOG.warnf(
            "RA-TLS: clients' quote collateral unavailable from %s; clients are refused until it is: %s",
            pccs, e.getMessage());
        throw e;
      }
    };
  }

  /** The configured quote provider, checked against the simulator flag. */
  static String quoteProvider(KmsConfig config) {
    boolean simulator = config.simulator().enabled();
    String provider = config.tee().quoteProvider().orElse(simulator ? SIMULATOR : CONFIGFS_TSM);
    if (!List.of(CONFIGFS_TSM, SIMULATOR).contains(provider)) {
      throw new IllegalStateException(
          "unknown teekms.tee.quote-provider '"
              + provider
              + "' (use "
              + CONFIGFS_TSM
              + ", or "
              + SIMULATOR
              + " with teekms.simulator.enabled=true)");
    }
    if (SIMULATOR.equals(provider) && !simulator) {
      throw new IllegalStateException(
          "teekms.tee.quote-provider=simulator needs teekms.simulator.enabled=true "
              + "(refused in the prod profile)");
    }
    return provider;
  }

  private static DcapQuoteVerifier trustAnchor(java.nio.file.Path pem) {
    try {
      return new DcapQuoteVerifier(Pem.certificates(Files.readAllBytes(pem)).get(0));
    } catch (Exception e) {
      throw new IllegalStateException(
          "teekms.collateral.root-ca " + pem + ": not a PEM certificate: " + e.getMessage(), e);
    }
  }

  /**
   * Replaces the KMS's certificate with a fresh one (new key, new quote over the event log as it is
   * now) once less than half of its validity is left; later handshakes present the new one. A
   * failure keeps the current certificate (still valid) and says why.
   *
   * @return whether a new certificate was installed
   */
  public boolean renewIfDue() throws QuoteProviderException {
    java.time.Instant notAfter = keys.credentials().certificate().getNotAfter().toInstant();
    if (Duration.between(clock.instant(), notAfter).compareTo(CERTIFICATE_VALIDITY.dividedBy(2))
        > 0) {
      return false;
    }
    keys.rotate(certificates.create(commonName));
    LOG.infof(
        "RA-TLS: certificate renewed, valid until %s",
        keys.credentials().certificate().getNotAfter());
    return true;
  }

  /**
   * A quote of this KMS node over {@code reportData} (64 bytes) and the event log it replays
   * against.
   */
  public RuntimeEventLog.QuoteWithLog quote(byte[] reportData) {
    try {
      return evidence.quote(reportData);
    } catch (QuoteProviderException e) {
      throw new IllegalStateException("quote failed: " + e.getMessage(), e);
    }
  }

  /**
   * What the clients' collateral cache holds (empty with the simulator: no PCS/PCCS collateral).
   */
  public java.util.Optional<CachingCollateralSource.State> collateralState() {
    return collateralCache.map(CachingCollateralSource::state);
  }

  /**
   * {@code teekms.collateral.max-age}, the bound on a cached entry's age (empty with the
   * simulator).
   */
  public java.util.Optional<Duration> collateralMaxAge() {
    return collateralCache.map(CachingCollateralSource::maxAge);
  }

  /** The RA-TLS server certificate handshakes present now. */
  public X509Certificate certificate() {
    return keys.credentials().certificate();
  }

  /** {@code teekms.ratls.clock-skew-allowance}: the certificate validity tolerance, both ways. */
  public Duration clockSkewAllowance() {
    return clockSkewAllowance;
  }

  /** The trust configuration this node measured into RTMR3 before its first quote. */
  public TrustConfiguration trustConfiguration() {
    return trustConfiguration;
  }

  public RaTlsTrustManager trustManager() {
    return trust;
  }

  /**
   * What the RA-TLS port verifies clients with: {@link #trustManager()} behind the handshake
   * bounds.
   */
  public BoundedClientVerification boundedTrustManager() {
    return bounded;
  }

  /**
   * Whether clients' GPU evidence is verified ({@code teekms.gpu.verification} is not disabled).
   */
  public boolean gpuVerified() {
    return gpuVerified;
  }

  public RaTlsKeyManager keyManager() {
    return keys;
  }

  /**
   * The KMS certificate and key as a PKCS#12 key store in memory (what the TLS registry reports
   * on).
   */
  public KeyStore keyStore() {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      RaTlsCredentials c = keys.credentials();
      ks.setKeyEntry(
          RaTlsKeyManager.ALIAS,
          c.privateKey(),
          new char[0],
          new X509Certificate[] {c.certificate()});
      return ks;
    } catch (Exception e) {
      throw new IllegalStateException("cannot build the RA-TLS key store", e);
    }
  }
}
