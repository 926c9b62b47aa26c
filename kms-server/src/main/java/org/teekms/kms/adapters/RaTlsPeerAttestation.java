package org.teekms.kms.adapters;

import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.ratls.RaTlsException;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.governance.DriverVersion;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.admission.MeasuredOs;
import org.teekms.attest.tdx.MrSystem;
import org.teekms.kms.admission.PeerAttestation;

/**
 * {@link PeerAttestation} over the RA-TLS trust manager: the identity it verified during the handshake (quote via
 * DCAP, event log replay, GPU evidence), read from the session — never from client claims. Asked at every call, so a
 * long-lived connection uses that identity only while it is fresh ({@link RaTlsTrustManager#peerIdentity}): past the
 * verifier's cache limit the certificate is verified again, past its notAfter the call is refused with
 * {@link DenyCode#ATTESTATION_EXPIRED}. Only GPUs whose evidence verified are counted.
 */
public final class RaTlsPeerAttestation implements PeerAttestation {

  private final RaTlsTrustManager trust;

  public RaTlsPeerAttestation(RaTlsTrustManager trust) {
    this.trust = trust;
  }

  @Override
  public AttestedPeer peer(SSLSession session) {
    if (session == null) {
      throw new AdmissionDenied(DenyCode.NO_CLIENT_CERTIFICATE, "the call did not arrive over mutual TLS");
    }
    RaTlsIdentity id;
    try {
      id = trust.peerIdentity(session);
    } catch (SSLPeerUnverifiedException e) {
      // A rejected certificate is recorded in the session (RaTlsTrustManager.deferringClientRejections), so this is
      // a client that presented none.
      throw new AdmissionDenied(DenyCode.NO_CLIENT_CERTIFICATE, "the client presented no RA-TLS certificate");
    } catch (RaTlsException e) {
      throw new AdmissionDenied(denyCode(e.reason()), e.getMessage());
    }
    return toPeer(id);
  }

  /** The hardware-derived OS identity: mrSystem from the quote's registers, and the OS image check's verdict. */
  public static MeasuredOs measuredOs(RaTlsIdentity id) {
    return new MeasuredOs(id.mrSystem().toByteArray(), id.osImageMeasured(), MrSystem.describe(id.td()),
        id.osImage().detail());
  }

  static DenyCode denyCode(RaTlsException.Reason reason) {
    return switch (reason) {
      // Collateral the KMS could not fetch says nothing about the CVM: "try again", not "you are refused".
      case COLLATERAL_UNAVAILABLE -> DenyCode.KMS_UNAVAILABLE;
      case CERTIFICATE_EXPIRED -> DenyCode.ATTESTATION_EXPIRED;
      default -> DenyCode.ATTESTATION_INVALID;
    };
  }

  /** Maps the verified identity; fields the registry needs in fixed sizes are checked here (fail closed). */
  public static AttestedPeer toPeer(RaTlsIdentity id) {
    List<GpuResult> valid = id.gpus().stream().filter(GpuResult::valid).toList();
    String arch = valid.isEmpty() ? "" : valid.get(0).arch().name();
    if (valid.stream().anyMatch(g -> !g.arch().name().equals(arch))) {
      throw new AdmissionDenied(DenyCode.GPU_POLICY_UNMET, "the CVM's attested GPUs are of mixed architectures");
    }
    long minDriver = 0;
    try {
      minDriver = valid.stream().mapToLong(g -> DriverVersion.parse(g.driverVersion())).min().orElse(0);
    } catch (IllegalArgumentException e) {
      throw new AdmissionDenied(DenyCode.ATTESTATION_INVALID, "GPU driver version unreadable: " + e.getMessage());
    }
    byte[] device = id.deviceId().toByteArray();
    byte[] mrAggregated = id.mrAggregated().toByteArray();
    byte[] osImage = id.osImageHash().map(b -> b.toByteArray()).orElse(new byte[32]);
    try {
      return new AttestedPeer(id.appId().toByteArray(), id.composeHash().toByteArray(), id.instanceId().toByteArray(),
          device, mrAggregated, osImage, id.tcbStatus().name(), id.advisoryIds(), id.debug(), valid.size(), arch,
          minDriver, id.keyProvider(), measuredOs(id));
    } catch (IllegalArgumentException e) {
      throw new AdmissionDenied(DenyCode.ATTESTATION_INVALID, "verified identity unusable: " + e.getMessage());
    }
  }

}
