package org.teekms.kms.app;

import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;
import javax.net.ssl.SSLSession;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.admission.PeerAttestation;

/**
 * Used when no RA-TLS trust manager is wired (this build has no RA-TLS adapter, or it is not configured): every
 * attested call is refused. Fail closed.
 */
@DefaultBean
@ApplicationScoped
public class NoPeerAttestation implements PeerAttestation {

  @Override
  public AttestedPeer peer(SSLSession session) {
    if (session == null) {
      throw new AdmissionDenied(DenyCode.NO_CLIENT_CERTIFICATE, "the call did not arrive over mutual TLS");
    }
    throw new AdmissionDenied(DenyCode.ATTESTATION_INVALID, "no RA-TLS verifier is configured on this KMS");
  }
}
