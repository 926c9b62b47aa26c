package org.teekms.kms.tls;

import io.quarkus.tls.runtime.KeyStoreAndKeyCertOptions;
import io.quarkus.tls.runtime.KeyStoreProvider;
import io.quarkus.tls.runtime.TrustStoreAndTrustOptions;
import io.quarkus.tls.runtime.TrustStoreProvider;
import io.smallrye.common.annotation.Identifier;
import io.vertx.core.Vertx;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.teekms.kms.adapters.RaTlsPeerAttestation;
import org.teekms.kms.admission.PeerAttestation;

/**
 * Plugs RA-TLS into Quarkus's TLS registry under the name {@code ratls}
 * (quarkus.http.tls-configuration-name=ratls): the key manager presents the KMS's RA-TLS
 * certificate, the trust manager verifies clients' RA-TLS certificates.
 */
@ApplicationScoped
public class RaTlsTlsProviders {

  @Produces
  @ApplicationScoped
  @Identifier("ratls")
  KeyStoreProvider keyStore(RaTlsSetup setup) {
    return vertx ->
        new KeyStoreAndKeyCertOptions(setup.keyStore(), KeyCertOptions.wrap(setup.keyManager()));
  }

  @Produces
  @ApplicationScoped
  @Identifier("ratls")
  TrustStoreProvider trustStore(RaTlsSetup setup) {
    return (Vertx vertx) ->
        new TrustStoreAndTrustOptions(null, TrustOptions.wrap(setup.boundedTrustManager()));
  }

  /** Identity of callers = what the RA-TLS trust manager verified in the handshake. */
  @Produces
  @ApplicationScoped
  PeerAttestation peerAttestation(RaTlsSetup setup, org.teekms.kms.status.ClockSkewProbe clock) {
    return new RaTlsPeerAttestation(setup.trustManager(), setup.gpuVerified(), clock);
  }
}
