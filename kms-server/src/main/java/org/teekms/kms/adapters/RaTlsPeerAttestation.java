package org.teekms.kms.adapters;

import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.gpu.OcspResult;
import org.teekms.attest.ratls.RaTlsException;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.tdx.MrSystem;
import org.teekms.crypto.Bytes;
import org.teekms.governance.DriverVersion;
import org.teekms.keys.AppId;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.admission.GpuFacts;
import org.teekms.kms.admission.MeasuredOs;
import org.teekms.kms.admission.PeerAttestation;
import org.teekms.kms.status.ClockSkewProbe;

/**
 * {@link PeerAttestation} over the RA-TLS trust manager: the identity it verified during the
 * handshake (quote via DCAP, event log replay, GPU evidence), read from the session — never from
 * client claims. Asked at every call, so a long-lived connection uses that identity only while it
 * is fresh ({@link RaTlsTrustManager#peerIdentity}): past the verifier's cache limit the
 * certificate is verified again, past its notAfter the call is refused with {@link
 * DenyCode#ATTESTATION_EXPIRED}. Only GPUs whose evidence verified are counted. Every GPU's outcome
 * is passed on as {@link GpuFacts} (its failure mapped to a GPU_* deny code) for admission to
 * decide and audit.
 */
public final class RaTlsPeerAttestation implements PeerAttestation {
  private static final Bytes NO_OS_IMAGE = Bytes.copyOf(new byte[32]);

  private final RaTlsTrustManager trust;
  private final boolean gpuVerified;
  private final ClockSkewProbe clock;

  /**
   * @param gpuVerified whether the trust manager's verifier verifies GPU evidence ({@code
   *     RaTlsVerifier.gpuFacts})
   * @param clock this node's clock against the chain's, to tell a client's bad certificate from
   *     this node's bad clock; null: every certificate validity failure is the client's
   */
  public RaTlsPeerAttestation(RaTlsTrustManager trust, boolean gpuVerified, ClockSkewProbe clock) {
    this.trust = trust;
    this.gpuVerified = gpuVerified;
    this.clock = clock;
  }

  /** Without a clock probe. */
  public RaTlsPeerAttestation(RaTlsTrustManager trust, boolean gpuVerified) {
    this(trust, gpuVerified, null);
  }

  /** Over a verifier that verifies GPU evidence. */
  public RaTlsPeerAttestation(RaTlsTrustManager trust) {
    this(trust, true);
  }

  @Override
  public AttestedPeer peer(SSLSession session) {
    if (session == null) {
      throw new AdmissionDenied(
          DenyCode.NO_CLIENT_CERTIFICATE, "the call did not arrive over mutual TLS");
    }
    if (session.getValue(org.teekms.kms.tls.BoundedClientVerification.THROTTLED)
        instanceof String why) {
      // Its certificate was never verified (handshake bounds): refused, and the session is not
      // resumed later.
      session.invalidate();
      throw new AdmissionDenied(DenyCode.RATE_LIMITED, why);
    }
    RaTlsIdentity id;
    try {
      id = trust.peerIdentity(session);
    } catch (SSLPeerUnverifiedException e) {
      // A rejected certificate is recorded in the session
      // (RaTlsTrustManager.deferringClientRejections), so this is
      // a client that presented none.
      throw new AdmissionDenied(
          DenyCode.NO_CLIENT_CERTIFICATE, "the client presented no RA-TLS certificate");
    } catch (RaTlsException e) {
      throw refusal(e, clock == null ? Optional.empty() : clock.last());
    }
    return toPeer(id, gpuVerified);
  }

  /**
   * The refusal of a certificate the verifier rejected. A validity failure (not yet valid, or
   * expired) is blamed on this node's clock, {@link DenyCode#KMS_CLOCK_SKEW} (UNAVAILABLE: the
   * client may retry), when the last clock reading says this node's clock is off the chain's by
   * more than the allowance in the direction that explains it: behind for a certificate not yet
   * valid, ahead for an expired one. Otherwise the reason is the certificate's.
   */
  static AdmissionDenied refusal(RaTlsException e, Optional<ClockSkewProbe.Reading> reading) {
    boolean kmsClock =
        reading.isPresent()
            && switch (e.reason()) {
              case CERTIFICATE_NOT_YET_VALID -> reading.get().kmsBehind();
              case CERTIFICATE_EXPIRED -> reading.get().kmsAhead();
              default -> false;
            };
    if (kmsClock) {
      return new AdmissionDenied(
          DenyCode.KMS_CLOCK_SKEW,
          reading.get().problem()
              + "; so this node refuses the client's certificate ("
              + e.getMessage()
              + "): retry later or at another node");
    }
    return new AdmissionDenied(denyCode(e.reason()), e.getMessage());
  }

  /**
   * The hardware-derived OS identity: mrSystem from the quote's registers, and the OS image check's
   * verdict.
   */
  public static MeasuredOs measuredOs(RaTlsIdentity id) {
    return new MeasuredOs(
        id.mrSystem(), id.osImageMeasured(), MrSystem.describe(id.td()), id.osImage().detail());
  }

  static DenyCode denyCode(RaTlsException.Reason reason) {
    return switch (reason) {
      // Collateral the KMS could not fetch says nothing about the CVM: "try again", not "you are
      // refused".
      case COLLATERAL_UNAVAILABLE -> DenyCode.KMS_UNAVAILABLE;
      case CERTIFICATE_EXPIRED -> DenyCode.ATTESTATION_EXPIRED;
      case CERTIFICATE_NOT_YET_VALID -> DenyCode.CERTIFICATE_NOT_YET_VALID;
      default -> DenyCode.ATTESTATION_INVALID;
    };
  }

  /** {@link #toPeer(RaTlsIdentity, boolean)} for a verifier that verifies GPU evidence. */
  public static AttestedPeer toPeer(RaTlsIdentity id) {
    return toPeer(id, true);
  }

  /**
   * Maps the verified identity; fields the registry needs in fixed sizes are checked here (fail
   * closed). Mixed architectures are left to admission (GPU_ARCHITECTURE, audited); the registry
   * sees the first valid GPU's.
   */
  public static AttestedPeer toPeer(RaTlsIdentity id, boolean gpuVerified) {
    List<GpuResult> valid = id.gpus().stream().filter(GpuResult::valid).toList();
    String arch = valid.isEmpty() ? "" : valid.get(0).arch().name();
    GpuFacts gpus =
        gpuVerified
            ? new GpuFacts(
                true,
                id.gpus().stream().map(RaTlsPeerAttestation::fact).toList(),
                id.boot().gpuDevices().map(b -> b.hex()))
            : GpuFacts.NOT_VERIFIED;
    long minDriver = 0;
    try {
      minDriver =
          valid.stream().mapToLong(g -> DriverVersion.parse(g.driverVersion())).min().orElse(0);
    } catch (IllegalArgumentException e) {
      throw new AdmissionDenied(
          DenyCode.GPU_EVIDENCE_INVALID, "GPU driver version unreadable: " + e.getMessage());
    }
    // A measurement document that the hardware registers prove names the image; otherwise the
    // guest's RTMR3 claim, which the chain accepts only with a golden mrSystem registered for it.
    Bytes osImage = id.provenOsImageHash().or(id::osImageHash).orElse(NO_OS_IMAGE);
    try {
      return new AttestedPeer(
          AppId.of(id.appId().toByteArray()),
          id.composeHash(),
          id.instanceId(),
          id.deviceId(),
          id.mrAggregated(),
          osImage,
          id.tcbStatus(),
          id.advisoryIds(),
          id.td(),
          valid.size(),
          arch,
          minDriver,
          id.keyProvider(),
          measuredOs(id),
          gpus);
    } catch (IllegalArgumentException e) {
      throw new AdmissionDenied(
          DenyCode.ATTESTATION_INVALID, "verified identity unusable: " + e.getMessage());
    }
  }

  /** One GPU's outcome, its failure mapped to the deny code that names it. */
  public static GpuFacts.Gpu fact(GpuResult r) {
    return new GpuFacts.Gpu(
        r.valid() ? Optional.empty() : Optional.of(code(r)),
        r.valid() ? "" : r.error(),
        r.deviceId(),
        r.arch() == null ? "" : r.arch().name(),
        r.driverVersion(),
        r.vbiosVersion());
  }

  /**
   * The deny code for a failed GPU: which check failed, and for revocation what the responder said.
   */
  static DenyCode code(GpuResult r) {
    return switch (r.failure()) {
      case NONCE_MISMATCH -> DenyCode.GPU_NONCE_MISMATCH;
      case MEASUREMENT_MISMATCH -> DenyCode.GPU_MEASUREMENT_MISMATCH;
      case RIM_INVALID -> DenyCode.GPU_RIM_UNAVAILABLE;
      case UNSUPPORTED_ARCHITECTURE -> DenyCode.GPU_ARCHITECTURE;
      case NOT_MEASURED -> DenyCode.GPU_NOT_MEASURED;
      case OCSP_FAILED -> {
        List<OcspResult.Status> statuses =
            r.ocsp().certificates().stream().map(OcspResult.CertStatus::status).toList();
        if (statuses.contains(OcspResult.Status.REVOKED)) {
          yield DenyCode.GPU_REVOKED;
        }
        yield statuses.contains(OcspResult.Status.UNAVAILABLE)
            ? DenyCode.GPU_REVOCATION_UNAVAILABLE
            : DenyCode.GPU_EVIDENCE_INVALID;
      }
      case MALFORMED_REPORT,
          MALFORMED_EVIDENCE,
          SIGNATURE_INVALID,
          CERT_CHAIN_INVALID,
          FWID_MISMATCH ->
          DenyCode.GPU_EVIDENCE_INVALID;
    };
  }
}
