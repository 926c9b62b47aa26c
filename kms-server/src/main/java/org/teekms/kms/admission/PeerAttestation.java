package org.teekms.kms.admission;

import javax.net.ssl.SSLSession;

/**
 * Turns the TLS session of a gRPC call into the verified facts about the client CVM. The production
 * implementation reads the identity the RA-TLS trust manager verified during the handshake; it
 * never re-parses client claims.
 */
public interface PeerAttestation {

  /**
   * @param session the call's TLS session, null when the call did not come over TLS
   * @throws AdmissionDenied NO_CLIENT_CERTIFICATE or ATTESTATION_INVALID with the reason
   */
  AttestedPeer peer(SSLSession session);
}
