package org.teekms.attest.gpu;

import static org.teekms.attest.gpu.GpuAttestationException.Reason.CERT_CHAIN_INVALID;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.FWID_MISMATCH;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.MEASUREMENT_MISMATCH;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.NONCE_MISMATCH;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.OCSP_FAILED;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.SIGNATURE_INVALID;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.UNSUPPORTED_ARCHITECTURE;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;

/**
 * Verifies GPU evidence: for each GPU, report signature, device chain to the configured root at an
 * explicit time, nonce, FWID, revocation and (with a RIM store) measurements. Returns facts per
 * GPU; {@link GpuEvidencePolicy} decides afterwards whether they are enough. Thread-safe; one
 * instance serves every connection.
 *
 * <p>Order of checks (the first failure is the reported reason): parse → device chain →
 * architecture → report signature → nonce → FWID → device-chain OCSP → RIM selection and RIM-chain
 * OCSP → measurements.
 */
public final class GpuEvidenceVerifier {
  private static final String FWID_OID = "2.23.133.5.4.1";
  private static final String FWID_OID_ALT = "2.23.133.5.4.1.1";
  private static final int FWID_LENGTH = 48;

  private final X509Certificate deviceRoot;
  private final RimStore rimStore;
  private final RevocationChecker revocation;
  private final boolean simulatedRoot;

  private GpuEvidenceVerifier(Builder b) {
    this.deviceRoot = Objects.requireNonNull(b.deviceRoot, "deviceRoot");
    this.rimStore = b.rimStore;
    this.revocation =
        b.revocation != null ? b.revocation : new OcspChecker(OcspChecker.Config.defaults());
    this.simulatedRoot = deviceRoot.getSubjectX500Principal().getName().contains("SIMULATED");
  }

  /**
   * A verifier rooted at {@code deviceRoot}; by default no RIM store and fail-closed OCSP against
   * NVIDIA.
   */
  public static Builder builder(X509Certificate deviceRoot) {
    return new Builder(deviceRoot);
  }

  /** NVIDIA's Device Identity CA as the device root. */
  public static Builder nvidia() {
    return new Builder(NvidiaRoots.deviceIdentityCa());
  }

  public static final class Builder {
    private final X509Certificate deviceRoot;
    private RimStore rimStore;
    private RevocationChecker revocation;

    private Builder(X509Certificate deviceRoot) {
      this.deviceRoot = Objects.requireNonNull(deviceRoot, "deviceRoot");
    }

    /** RIMs to compare measurements with; without a store, measurements are NOT_CHECKED. */
    public Builder rimStore(RimStore store) {
      this.rimStore = store;
      return this;
    }

    public Builder revocation(RevocationChecker checker) {
      this.revocation = Objects.requireNonNull(checker, "revocation");
      return this;
    }

    public GpuEvidenceVerifier build() {
      return new GpuEvidenceVerifier(this);
    }
  }

  /**
   * Verifies every GPU of {@code evidence} against {@code expectedNonce} (32 bytes, e.g. {@link
   * GpuNonce#forSpki}) at {@code at}. One result per GPU, in evidence order; never throws for bad
   * evidence.
   */
  public List<GpuResult> verify(GpuEvidence evidence, byte[] expectedNonce, Instant at) {
    requireNonce(expectedNonce);
    Objects.requireNonNull(at, "at");
    List<GpuResult> results = new ArrayList<>(evidence.gpus().size());
    for (GpuEvidence.Device device : evidence.gpus()) {
      List<X509Certificate> chain;
      try {
        chain =
            CertChainValidator.parseDer(
                device.certChain().stream().map(Bytes::toByteArray).toList());
      } catch (GpuAttestationException e) {
        results.add(failed(new State(), e));
        continue;
      }
      results.add(
          verifyDevice(
              device.report().toByteArray(), chain, evidence.architecture(), expectedNonce, at));
    }
    return results;
  }

  /**
   * Verifies one GPU: its raw report and its certificate chain (leaf first). {@code declared} may
   * be null.
   */
  public GpuResult verifyDevice(
      byte[] report,
      List<X509Certificate> chain,
      GpuArchitecture declared,
      byte[] expectedNonce,
      Instant at) {
    requireNonce(expectedNonce);
    State s = new State();
    try {
      HopperReport parsed = HopperReportParser.parse(report);
      s.driver = parsed.driverVersion();
      s.vbios = parsed.vbiosVersion();
      if (chain.size() < 2) {
        throw new GpuAttestationException(
            CERT_CHAIN_INVALID,
            "GPU device chain has "
                + chain.size()
                + " certificates; it needs at least the attestation key and device identity certificates");
      }
      CertChainValidator.VerifiedChain verified =
          CertChainValidator.validate(chain, deviceRoot, at, "GPU device");
      s.deviceId = sha256Hex(chain.get(1));
      X509Certificate leaf = chain.get(0);
      s.arch = architectureOf(leaf);
      if (declared != null && declared != s.arch) {
        throw new GpuAttestationException(
            UNSUPPORTED_ARCHITECTURE,
            "evidence declares " + declared + " but the attestation key certificate is " + s.arch);
      }
      verifySignature(parsed, leaf);
      if (!MessageDigest.isEqual(parsed.requestNonce().toByteArray(), expectedNonce)) {
        throw new GpuAttestationException(
            NONCE_MISMATCH,
            "report nonce "
                + parsed.requestNonce().hex()
                + " is not the expected nonce "
                + HexFormat.of().formatHex(expectedNonce));
      }
      checkFwid(parsed, leaf);
      List<X509Certificate> full = verified.certificates();
      // nvtrust checks the device chain without the per-boot leaf and without the root.
      s.ocsp = revocation.check(full, 1, full.size() - 1, at);
      if (!s.ocsp.ok()) {
        throw new GpuAttestationException(OCSP_FAILED, "device chain: " + s.ocsp.firstProblem());
      }
      if (rimStore != null) {
        Rim driverRim = rimStore.driverRim(parsed, at);
        Rim vbiosRim = rimStore.vbiosRim(parsed, at);
        for (Rim rim : List.of(driverRim, vbiosRim)) {
          List<X509Certificate> signer = rim.signerChain().certificates();
          OcspResult r = revocation.check(signer, 0, signer.size() - 1, at);
          s.ocsp = s.ocsp.plus(r);
          if (!r.ok()) {
            throw new GpuAttestationException(
                OCSP_FAILED, "RIM " + rim.name() + " signer chain: " + r.firstProblem());
          }
        }
        s.measurements = MeasurementComparator.compare(parsed, driverRim, vbiosRim);
        if (!s.measurements.matched()) {
          throw new GpuAttestationException(
              MEASUREMENT_MISMATCH,
              "measurement indexes "
                  + s.measurements.mismatchedIndexes()
                  + " match neither "
                  + driverRim.name()
                  + " nor "
                  + vbiosRim.name());
        }
      }
      return new GpuResult(
          true,
          s.arch,
          s.driver,
          s.vbios,
          s.measurements,
          s.ocsp,
          s.deviceId,
          simulatedRoot,
          null,
          null);
    } catch (GpuAttestationException e) {
      return failed(s, e);
    }
  }

  /** Facts established so far, kept for the result when a later check fails. */
  private static final class State {
    GpuArchitecture arch;
    String driver;
    String vbios;
    String deviceId;
    MeasurementResult measurements = MeasurementResult.notChecked();
    OcspResult ocsp = OcspResult.skipped();
  }

  private GpuResult failed(State s, GpuAttestationException e) {
    return new GpuResult(
        false,
        s.arch,
        s.driver,
        s.vbios,
        s.measurements,
        s.ocsp,
        s.deviceId,
        simulatedRoot,
        e.reason(),
        e.getMessage());
  }

  private static void verifySignature(HopperReport report, X509Certificate leaf)
      throws GpuAttestationException {
    if (!(leaf.getPublicKey() instanceof ECPublicKey ec)
        || ec.getParams().getCurve().getField().getFieldSize() != 384) {
      throw new GpuAttestationException(
          SIGNATURE_INVALID, "attestation key certificate does not hold a P-384 key");
    }
    try {
      Signature verifier = Signature.getInstance("SHA384withPLAIN-ECDSA", CertChainValidator.BC);
      verifier.initVerify(ec);
      verifier.update(report.signedBytes().toByteArray());
      if (!verifier.verify(report.signature().toByteArray())) {
        throw new GpuAttestationException(
            SIGNATURE_INVALID,
            "report signature does not verify with the attestation "
                + "key certificate "
                + leaf.getSubjectX500Principal().getName()
                + " over "
                + report.signedBytes().length()
                + " signed bytes");
      }
    } catch (GeneralSecurityException e) {
      throw new GpuAttestationException(
          SIGNATURE_INVALID, "report signature cannot be checked: " + e.getMessage());
    }
  }

  private static void checkFwid(HopperReport report, X509Certificate leaf)
      throws GpuAttestationException {
    Optional<byte[]> reported = report.fwid();
    if (reported.isEmpty()) {
      return; // reports from 2023 firmware have no FWID field; nothing to bind
    }
    byte[] ext = leaf.getExtensionValue(FWID_OID);
    if (ext == null) {
      ext = leaf.getExtensionValue(FWID_OID_ALT);
    }
    if (ext == null) {
      throw new GpuAttestationException(
          FWID_MISMATCH,
          "report carries an FWID but the attestation key certificate "
              + "has no TCG DICE FWID extension");
    }
    byte[] value;
    try {
      value = ASN1OctetString.getInstance(ASN1Primitive.fromByteArray(ext)).getOctets();
    } catch (Exception e) {
      throw new GpuAttestationException(FWID_MISMATCH, "FWID extension is not an OCTET STRING");
    }
    if (value.length < FWID_LENGTH) {
      throw new GpuAttestationException(
          FWID_MISMATCH, "FWID extension is shorter than " + FWID_LENGTH + " bytes");
    }
    byte[] certFwid = Arrays.copyOfRange(value, value.length - FWID_LENGTH, value.length);
    if (!MessageDigest.isEqual(certFwid, reported.get())) {
      throw new GpuAttestationException(
          FWID_MISMATCH,
          "report FWID "
              + HexFormat.of().formatHex(reported.get())
              + " differs from the certificate FWID "
              + HexFormat.of().formatHex(certFwid));
    }
  }

  /**
   * Hopper attestation keys are issued to "GH100 … GSP FMC LF"; anything else is not a layout we
   * verify.
   */
  static GpuArchitecture architectureOf(X509Certificate leaf) throws GpuAttestationException {
    String subject = leaf.getSubjectX500Principal().getName();
    if (subject.contains("GH100")) {
      return GpuArchitecture.HOPPER;
    }
    if (subject.contains("GB100") || subject.contains("GB20")) {
      throw new GpuAttestationException(
          UNSUPPORTED_ARCHITECTURE, "Blackwell evidence (" + subject + ") is not supported yet");
    }
    throw new GpuAttestationException(
        UNSUPPORTED_ARCHITECTURE, "unknown GPU in attestation key certificate " + subject);
  }

  private static String sha256Hex(X509Certificate c) throws GpuAttestationException {
    try {
      return Digests.sha256Hex(c.getEncoded());
    } catch (CertificateEncodingException e) {
      throw new GpuAttestationException(CERT_CHAIN_INVALID, "cannot encode the device certificate");
    }
  }

  private static void requireNonce(byte[] nonce) {
    if (nonce == null || nonce.length != HopperReportParser.NONCE_LENGTH) {
      throw new IllegalArgumentException(
          "expected nonce must be " + HopperReportParser.NONCE_LENGTH + " bytes");
    }
  }
}
