package org.teekms.kms.replication;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
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
 * Onboarding of this replica from {@code teekms.onboarding.source}: a mutual RA-TLS channel from
 * this node's own RA-TLS credentials to the source, {@link OnboardingClient#fetch} (the source must
 * be an allowed KMS and its roots the ones published on chain), then {@link RootImport} under this
 * node's sealing key: all generations into an empty database, or this node's sealed copies of the
 * live generations it lacks in a shared one. Used at startup ({@code KmsStartup}, where a refusal
 * stops startup with the reason) and by {@link SealedCopySync} (a generation another replica
 * promoted); both share this node's one instance.
 */
public final class ReplicaJoin {

  private static final Logger LOG = Logger.getLogger(ReplicaJoin.class);

  /** The source's release (blocking: over RA-TLS, a gRPC call). */
  @FunctionalInterface
  public interface Source {
    OnboardingClient.Joined fetch();
  }

  /** What a join did. */
  public enum Outcome {
    /** Every generation imported into an empty database. */
    IMPORTED,
    /** This node's sealed copies added to a shared database. */
    COPIED,
    /**
     * This node already held its copy of every live generation: nothing was asked of the source.
     */
    NOTHING_MISSING
  }

  /**
   * @param generations imported or copied (empty for {@link Outcome#NOTHING_MISSING})
   * @param sourceGrantId the source's grant of the release, empty when nothing was asked
   */
  public record Result(Outcome outcome, List<Integer> generations, Optional<String> sourceGrantId) {
    public Result {
      generations = List.copyOf(generations);
    }
  }

  private final String sourceName;
  private final Source source;
  private final StateSessions sessions;
  private final RootGenerationStore roots;
  private final AuditLog audit;
  private final Clock clock;
  private final Duration dbWait;

  /**
   * @param sourceName what the logs call the source ({@code host:port})
   * @param dbWait {@code teekms.db-timeout}
   */
  public ReplicaJoin(
      String sourceName,
      Source source,
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock,
      Duration dbWait) {
    this.sourceName = sourceName;
    this.source = source;
    this.sessions = sessions;
    this.roots = roots;
    this.audit = audit;
    this.clock = clock;
    this.dbWait = dbWait;
  }

  /**
   * This node's joiner from {@code teekms.onboarding.source} over mutual RA-TLS; without a source
   * configured, a join fails saying so.
   */
  public static ReplicaJoin overRaTls(
      KmsConfig config,
      RaTlsSetup ratls,
      PeerAttestation attestation,
      KmsPolicyPort policy,
      StateSessions sessions,
      RootGenerationStore roots,
      AuditLog audit,
      Clock clock) {
    Optional<String> address = config.onboarding().source();
    Source source =
        () ->
            fetch(
                address.orElseThrow(
                    () ->
                        new IllegalStateException(
                            "no teekms.onboarding.source is set: this node cannot obtain root "
                                + "generations from a peer")),
                config,
                ratls,
                attestation,
                policy,
                clock);
    return new ReplicaJoin(
        address.orElse("(no teekms.onboarding.source)"),
        source,
        sessions,
        roots,
        audit,
        clock,
        config.dbTimeout());
  }

  /** The join in flight, or null. Guarded by {@code this}. */
  private CompletableFuture<Result> inFlight;

  /**
   * Joins as described above, once at a time: a join asked for while another is in flight
   * (startup's and {@link SealedCopySync}'s poll) does not ask the source again but waits for that
   * one and gets its result or failure; a join that finds nothing missing asks the source nothing
   * ({@link Outcome#NOTHING_MISSING}). So the source releases, and audits, once per join that
   * obtains something. Non-blocking: the fetch (a blocking gRPC call) runs on the worker pool, the
   * import is reactive; the received secrets are zeroized whatever the outcome. A caller that stops
   * waiting does not stop the join.
   */
  public Uni<Result> join() {
    return Uni.createFrom()
        .deferred(
            () -> {
              CompletableFuture<Result> flight;
              synchronized (this) {
                if (inFlight != null) {
                  LOG.infof(
                      "onboarding: a join from %s is already in flight for this node; waiting for "
                          + "it instead of asking the source again",
                      sourceName);
                  return Uni.createFrom().completionStage(inFlight);
                }
                flight = new CompletableFuture<>();
                inFlight = flight;
              }
              run()
                  .subscribe()
                  .with(
                      result -> {
                        landed();
                        flight.complete(result);
                      },
                      failure -> {
                        landed();
                        flight.completeExceptionally(failure);
                      });
              return Uni.createFrom().completionStage(flight);
            });
  }

  /** Ends the flight before its waiters resume, so that a join they ask for next starts afresh. */
  private synchronized void landed() {
    inFlight = null;
  }

  /**
   * Reads what this node lacks; asks the source only when it lacks something (an empty database, or
   * a live generation without this node's copy).
   */
  private Uni<Result> run() {
    return roots
        .list()
        .ifNoItem()
        .after(dbWait)
        .fail()
        .chain(
            existing ->
                existing.isEmpty()
                    ? Uni.createFrom().item(Optional.<List<Integer>>empty())
                    : roots.missingCopies().ifNoItem().after(dbWait).fail().map(Optional::of))
        .chain(
            missing -> {
              if (missing.isPresent() && missing.get().isEmpty()) {
                LOG.infof(
                    "onboarding: this node already holds its copies of every live root generation; "
                        + "nothing asked of %s",
                    sourceName);
                return Uni.createFrom()
                    .item(new Result(Outcome.NOTHING_MISSING, List.of(), Optional.empty()));
              }
              return Uni.createFrom()
                  .item(source::fetch)
                  .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                  .chain(
                      joined ->
                          store(joined)
                              .eventually(
                                  () ->
                                      joined
                                          .generations()
                                          .forEach(RootGenerationRelease::destroy)));
            });
  }

  /**
   * Imports the received generations: all of them into an empty database, else this node's missing
   * copies.
   */
  private Uni<Result> store(OnboardingClient.Joined joined) {
    List<RootGenerationRelease> generations = joined.generations();
    List<Integer> received = generations.stream().map(RootGenerationRelease::generation).toList();
    Optional<String> grant = Optional.of(joined.sourceGrantId());
    return roots
        .list()
        .ifNoItem()
        .after(dbWait)
        .fail()
        .chain(
            existing ->
                existing.isEmpty()
                    ? RootImport.importInto(
                            sessions, roots, audit, generations, roots.kmsId(), clock.millis())
                        .ifNoItem()
                        .after(dbWait)
                        .fail()
                        .invoke(
                            () ->
                                LOG.infof(
                                    "onboarding: imported root generations %s of KMS '%s' from %s (source grant %s)",
                                    received, roots.kmsId(), sourceName, joined.sourceGrantId()))
                        .map(v -> new Result(Outcome.IMPORTED, received, grant))
                    : RootImport.addCopies(
                            sessions, roots, audit, generations, roots.kmsId(), clock.millis())
                        .ifNoItem()
                        .after(dbWait)
                        .fail()
                        .invoke(
                            copied ->
                                LOG.infof(
                                    "onboarding: sealed this node's copies of root generations %s of KMS '%s' "
                                        + "(obtained from %s, source grant %s)",
                                    copied, roots.kmsId(), sourceName, joined.sourceGrantId()))
                        .map(copied -> new Result(Outcome.COPIED, copied, grant)));
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
