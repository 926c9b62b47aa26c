package org.teekms.kms.replication;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.jboss.logging.Logger;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.governance.PublishedRootKeys;
import org.teekms.kms.admission.PeerAttestation;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.onboarding.KmsPolicyPort;
import org.teekms.kms.onboarding.OnboardingClient;
import org.teekms.kms.onboarding.PublishedRootsPort;
import org.teekms.kms.onboarding.RootGenerationRelease;
import org.teekms.kms.onboarding.RootImport;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.tls.RaTlsSetup;
import org.teekms.kms.wiring.KmsBeans;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Startup onboarding of a new replica ({@code teekms.onboarding.source}): a mutual RA-TLS channel
 * from this node's own RA-TLS credentials to the source, {@link OnboardingClient#fetch} (the source
 * must be an allowed KMS and its roots the ones published on chain), then {@link RootImport} under
 * this node's sealing key: all generations into an empty database, or this node's sealed copies of
 * the live generations it lacks in a shared one. Any refusal stops startup with the reason.
 */
public final class ReplicaJoin {

  private static final Logger LOG = Logger.getLogger(ReplicaJoin.class);

  private ReplicaJoin() {}

  /**
   * Joins as described above. Non-blocking: the RA-TLS fetch (a blocking gRPC call) runs on the
   * worker pool, the import is reactive; the received secrets are zeroized whatever the outcome.
   */
  public static Uni<Void> join(
      String source,
      KmsConfig config,
      RaTlsSetup ratls,
      PeerAttestation attestation,
      KmsPolicyPort policy,
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock) {
    return Uni.createFrom()
        .item(() -> fetch(source, config, ratls, attestation, policy, clock))
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
        .chain(
            joined ->
                store(source, joined, config, sessions, roots, audit, clock)
                    .eventually(
                        () -> joined.generations().forEach(RootGenerationRelease::destroy)));
  }

  /**
   * Imports the received generations: all of them into an empty database, else this node's missing
   * copies.
   */
  private static Uni<Void> store(
      String source,
      OnboardingClient.Joined joined,
      KmsConfig config,
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock) {
    List<RootGenerationRelease> generations = joined.generations();
    return roots
        .list()
        .ifNoItem()
        .after(config.dbTimeout())
        .fail()
        .chain(
            existing ->
                existing.isEmpty()
                    ? RootImport.importInto(
                            sessions, roots, audit, generations, config.kmsId(), clock.millis())
                        .ifNoItem()
                        .after(config.dbTimeout())
                        .fail()
                        .invoke(
                            () ->
                                LOG.infof(
                                    "onboarding: imported root generations %s of KMS '%s' from %s (source grant %s)",
                                    generations.stream()
                                        .map(RootGenerationRelease::generation)
                                        .toList(),
                                    config.kmsId(),
                                    source,
                                    joined.sourceGrantId()))
                    : RootImport.addCopies(
                            sessions, roots, audit, generations, config.kmsId(), clock.millis())
                        .ifNoItem()
                        .after(config.dbTimeout())
                        .fail()
                        .invoke(
                            copied ->
                                LOG.infof(
                                    "onboarding: sealed this node's copies of root generations %s of KMS '%s' "
                                        + "(obtained from %s, source grant %s)",
                                    copied, config.kmsId(), source, joined.sourceGrantId()))
                        .replaceWithVoid());
  }

  /** The source's release over a mutual RA-TLS channel opened for it. Blocking. */
  private static OnboardingClient.Joined fetch(
      String source,
      KmsConfig config,
      RaTlsSetup ratls,
      PeerAttestation attestation,
      KmsPolicyPort policy,
      Clock clock) {
    int colon = source.lastIndexOf(':');
    if (colon <= 0 || colon == source.length() - 1) {
      throw new IllegalStateException(
          "teekms.onboarding.source must be host:port, got '" + source + "'");
    }
    String host = source.substring(0, colon);
    int port = Integer.parseInt(source.substring(colon + 1));
    ManagedChannel channel;
    try {
      // RA-TLS identifies the peer by its attested certificate, not by a DNS name.
      channel =
          NettyChannelBuilder.forAddress(host, port)
              .overrideAuthority("kms.teekms.invalid")
              .sslContext(
                  GrpcSslContexts.configure(
                          SslContextBuilder.forClient()
                              .keyManager(RaTlsContexts.keyManagerFactory(ratls.keyManager()))
                              .trustManager(
                                  RaTlsContexts.trustManagerFactory(ratls.trustManager())),
                          SslProvider.JDK)
                      .build())
              .build();
    } catch (SSLException e) {
      throw new IllegalStateException(
          "onboarding: cannot build the RA-TLS client context: " + e.getMessage(), e);
    }
    try {
      // the registry adapter also reads the published root keys; without one nothing can vouch for
      // the roots
      PublishedRootsPort published =
          policy instanceof PublishedRootsPort p
              ? p
              : generation ->
                  PublishedRootKeys.unavailable(generation, "no on-chain registry configured");
      // The handshake proved the source's evidence; this node's quote policy is applied here (one
      // gate, as in admission).
      org.teekms.kms.admission.LocalAttestationPolicy local = KmsBeans.localPolicy(config);
      java.util.function.Function<javax.net.ssl.SSLSession, org.teekms.kms.admission.AttestedPeer>
          attested =
              s -> {
                org.teekms.kms.admission.AttestedPeer peer = attestation.peer(s);
                local.checkQuote(peer);
                return peer;
              };
      return OnboardingClient.fetch(
          channel,
          attested,
          policy,
          published,
          config.kmsId(),
          config.nodeId().orElse("unnamed"),
          config.onboarding().timeout(),
          clock);
    } finally {
      channel.shutdownNow();
      try {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
