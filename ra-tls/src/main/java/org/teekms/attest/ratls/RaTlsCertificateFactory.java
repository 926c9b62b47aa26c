package org.teekms.attest.ratls;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.gpu.GpuAttestationException;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.gpu.GpuNonce;
import org.teekms.attest.provider.EvidenceSource;
import org.teekms.attest.provider.QuoteProvider;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventLog;

/**
 * Makes RA-TLS certificates inside the CVM: a fresh P-256 key, REPORTDATA = SHA-512("ratls-cert:" ‖
 * SPKI), a quote from the {@link QuoteProvider}, the event log it replays against, and (when a GPU
 * provider is configured) GPU evidence whose nonce is {@link GpuNonce#forSpki} of the same key and
 * whose SHA-384 is measured into RTMR3 (event {@code gpu-evidence}) before quoting. Self-signed,
 * non-critical evidence extensions (docs/ra-tls.md). A certificate's whole validity period
 * (notAfter − notBefore, including the time it is back-dated for peers whose clocks are behind: 5
 * minutes unless configured, at most {@link #MAX_BACKDATE}) is the configured validity, so a
 * validity of 24 h passes verifiers capped at 24 h ({@link
 * RaTlsVerifier.Builder#maxCertificateLifetime}).
 */
public final class RaTlsCertificateFactory {
  public static final int FORMAT_VERSION = 1;

  /**
   * How far notBefore lies before the moment of issue, for peers whose clocks are a little behind.
   */
  static final Duration BACKDATE = Duration.ofMinutes(5);

  /**
   * The most a certificate may be back-dated ({@link #RaTlsCertificateFactory(EvidenceSource,
   * Clock, Duration, Duration)}); the same bound as a verifier's clock-skew allowance.
   */
  public static final Duration MAX_BACKDATE = RaTlsVerifier.MAX_CLOCK_SKEW_ALLOWANCE;

  private final EvidenceSource evidence;
  private final RuntimeEventLog eventLog;
  private final GpuEvidenceProvider gpu;
  private final Clock clock;
  private final Duration validity;
  private final Duration backdate;
  private final SecureRandom random = new SecureRandom();

  /**
   * @param gpu null when the CVM has no GPU to attest
   */
  public RaTlsCertificateFactory(
      QuoteProvider quotes,
      RuntimeEventLog eventLog,
      GpuEvidenceProvider gpu,
      Clock clock,
      Duration validity) {
    Objects.requireNonNull(quotes);
    this.eventLog = Objects.requireNonNull(eventLog);
    this.evidence = reportData -> eventLog.quote(quotes, reportData);
    this.gpu = gpu;
    this.clock = Objects.requireNonNull(clock);
    this.backdate = BACKDATE;
    this.validity = checkedValidity(validity, backdate);
  }

  /**
   * Certificates from an evidence source this process does not emit events into (e.g. {@link
   * org.teekms.attest.provider.TdEventLog}, a TD's own log): no GPU evidence.
   */
  public RaTlsCertificateFactory(EvidenceSource evidence, Clock clock, Duration validity) {
    this(evidence, clock, validity, BACKDATE);
  }

  /**
   * As {@link #RaTlsCertificateFactory(EvidenceSource, Clock, Duration)}, back-dating notBefore by
   * {@code backdate} (0 to {@link #MAX_BACKDATE}) instead of 5 minutes: the KMS back-dates its own
   * certificate by its clock-skew allowance, so that clients whose clocks are up to that much
   * behind the KMS's still accept it.
   */
  public RaTlsCertificateFactory(
      EvidenceSource evidence, Clock clock, Duration validity, Duration backdate) {
    this.evidence = Objects.requireNonNull(evidence);
    this.eventLog = null;
    this.gpu = null;
    this.clock = Objects.requireNonNull(clock);
    if (backdate.isNegative() || backdate.compareTo(MAX_BACKDATE) > 0) {
      throw new IllegalArgumentException(
          "RA-TLS certificate back-dating " + backdate + " is outside 0.." + MAX_BACKDATE);
    }
    this.backdate = backdate;
    this.validity = checkedValidity(validity, backdate);
  }

  private static Duration checkedValidity(Duration validity, Duration backdate) {
    if (validity.compareTo(backdate.multipliedBy(2)) < 0) {
      throw new IllegalArgumentException(
          "RA-TLS certificate validity "
              + validity
              + " is shorter than "
              + backdate.multipliedBy(2)
              + " (it includes "
              + backdate
              + " of back-dating)");
    }
    return validity;
  }

  /** How far notBefore lies before the moment a certificate is made. */
  public Duration backdate() {
    return backdate;
  }

  /**
   * Serialized: the GPU evidence event this certificate relies on must be the last one before its
   * quote.
   */
  public synchronized RaTlsCredentials create(String commonName) throws QuoteProviderException {
    KeyPair keys = newKeyPair();
    byte[] spki = keys.getPublic().getEncoded();
    byte[] gpuEvidence = null;
    if (gpu != null) {
      GpuEvidence collected;
      try {
        collected = gpu.collect(GpuNonce.forSpki(spki));
      } catch (IOException | GpuAttestationException e) {
        throw new QuoteProviderException("collecting GPU evidence failed: " + e.getMessage(), e);
      }
      gpuEvidence = collected.encode();
      eventLog.emit(DstackBootSequence.GPU_EVIDENCE, collected.sha384());
    }
    RuntimeEventLog.QuoteWithLog q = evidence.quote(ReportDataBinding.forSpki(spki));
    return new RaTlsCredentials(
        keys.getPrivate(),
        build(
            keys,
            commonName,
            q.quote().toByteArray(),
            q.eventLogJson().getBytes(StandardCharsets.UTF_8),
            gpuEvidence));
  }

  /**
   * Builds and self-signs the certificate from given evidence. Public so that tests and tools can
   * make certificates with chosen (including wrong) evidence; production code calls {@link
   * #create}.
   */
  public X509Certificate build(
      KeyPair keys, String commonName, byte[] quote, byte[] eventLogJson, byte[] gpuEvidence) {
    return build(keys, commonName, quote, eventLogJson, gpuEvidence, null);
  }

  /**
   * As {@link #build(KeyPair, String, byte[], byte[], byte[])}, also carrying dstack's {@code
   * vm_config} JSON ({@link RaTlsOids#VM_CONFIG}; null for none), from which a verifier's {@link
   * OsImageCheck} may prove the OS image.
   */
  public X509Certificate build(
      KeyPair keys,
      String commonName,
      byte[] quote,
      byte[] eventLogJson,
      byte[] gpuEvidence,
      byte[] vmConfig) {
    Instant now = clock.instant();
    X500Name subject =
        new X500NameBuilder(BCStyle.INSTANCE)
            .addRDN(BCStyle.O, "tee-kms RA-TLS")
            .addRDN(BCStyle.CN, commonName)
            .build();
    try {
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              subject,
              new BigInteger(127, random).add(BigInteger.ONE),
              Date.from(now.minus(backdate)),
              Date.from(now.minus(backdate).plus(validity)),
              subject,
              keys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage,
          false,
          new ExtendedKeyUsage(
              new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      b.addExtension(RaTlsOids.FORMAT_VERSION, false, new ASN1Integer(FORMAT_VERSION));
      b.addExtension(RaTlsOids.TDX_QUOTE, false, new DEROctetString(quote));
      b.addExtension(RaTlsOids.EVENT_LOG, false, new DEROctetString(eventLogJson));
      if (gpuEvidence != null) {
        b.addExtension(RaTlsOids.GPU_EVIDENCE, false, new DEROctetString(gpuEvidence));
      }
      if (vmConfig != null) {
        b.addExtension(RaTlsOids.VM_CONFIG, false, new DEROctetString(vmConfig));
      }
      var signer =
          new JcaContentSignerBuilder("SHA256withECDSA")
              .setProvider(Bc.PROVIDER)
              .build(keys.getPrivate());
      return new JcaX509CertificateConverter()
          .setProvider(Bc.PROVIDER)
          .getCertificate(b.build(signer));
    } catch (IOException | OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException("building an RA-TLS certificate failed", e);
    }
  }

  /**
   * A fresh P-256 key pair, made by BouncyCastle: its key objects carry BouncyCastle's cached
   * named-curve parameters, so every TLS CertificateVerify signed with them skips the per-call key
   * conversion and generator precomputation that a JDK (SunEC) key costs BouncyCastle's ECDSA
   * (measured: 58 instead of 180 us per signature here).
   */
  public static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC", Bc.PROVIDER);
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("P-256 key generation is a mandatory JDK capability", e);
    }
  }
}
