package org.teekms.kms.wiring;

import org.teekms.kms.replication.ReplicaJoin;
import org.teekms.kms.tls.RaTlsSetup;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Pool;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.teekms.kms.admission.PeerAttestation;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.db.SchemaMigrator;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.onboarding.KmsPolicyPort;
import org.teekms.kms.roots.KmsIdentityStore;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.seal.SealingKeyProvider;

/**
 * Startup, in order: (before this observer runs, injecting the root store creates the sealing key, which first makes
 * {@link RaTlsSetup} measure the trust configuration into RTMR3: docs/trust-config.md) loud simulator banner; schema
 * migration (Flyway over JDBC); the database is claimed for this KMS
 * id; on the very first start root generation 1 is created, or, with {@code teekms.onboarding.source}, the root
 * generations are obtained from that node over mutual RA-TLS ({@link ReplicaJoin}); with a chain, the database's root generations are
 * checked against the registry's root anchor (read through the RPC quorum; unreadable = startup fails); the keyring is
 * loaded (proves the sealing key unseals the roots; generations the chain says are destroyed are not unsealed); with
 * {@code teekms.custody.enabled}, the current generation is backed up to the on-chain custodians and, with
 * {@code require-published}, its publication awaited ({@link org.teekms.kms.custody.RootBackups#backUpCurrent}). Any
 * failure stops the server.
 */
@ApplicationScoped
public class KmsStartup {

  private static final Logger LOG = Logger.getLogger(KmsStartup.class);

  void onStart(@Observes StartupEvent event, KmsConfig config, Pool pool, Clock clock, SealingKeyProvider sealing,
      RootGenerationStore roots, AuditLog audit, LiveKeyring keyring, RaTlsSetup ratls, PeerAttestation attestation,
      KmsPolicyPort kmsPolicy, org.teekms.kms.admission.AppPolicyPort appPolicy, CustodyWiring custody,
      @ConfigProperty(name = "quarkus.datasource.reactive.url") String url,
      @ConfigProperty(name = "quarkus.datasource.username", defaultValue = "postgres") String user,
      @ConfigProperty(name = "quarkus.datasource.password", defaultValue = "") String password) {
    if (config.simulator().enabled() || sealing.simulated()) {
      LOG.warn("*****************************************************************************************");
      LOG.warn("*  SIMULATOR ENABLED (teekms.simulator.enabled=true): simulated attestation / sealing.   *");
      LOG.warn("*  This KMS protects NOTHING. Never use it with real keys or real users.                *");
      LOG.warn("*****************************************************************************************");
    }
    DatabaseCoordinates db = DatabaseCoordinates.parse(url, user, password);
    String version = SchemaMigrator.migrate(db);
    LOG.infof("database %s at schema version %s", db, version);
    Duration wait = config.dbTimeout();
    Uni<Void> ready = KmsIdentityStore.claim(pool, config.kmsId(), clock.millis()).ifNoItem().after(wait).fail()
        .chain(() -> roots.list(pool).ifNoItem().after(wait).fail())
        .chain(existing -> existing.isEmpty() ? Uni.createFrom().item(Optional.<List<Integer>>empty())
            : roots.missingCopies(pool).ifNoItem().after(wait).fail().map(Optional::of))
        .chain(missing -> obtainRoots(missing, config, pool, clock, roots, audit, ratls, attestation, kmsPolicy))
        .chain(() -> loadKeyring(appPolicy, keyring, pool))
        // Root custody: the current generation (generation 1 at bootstrap) is backed up before this node serves; with
        // teekms.custody.require-published, startup waits for the owner to publish it on chain (fail closed).
        .chain(() -> custody.backups().map(b -> b.backUpCurrent(pool, audit, config.dbTimeout(),
                config.custody().startupPublicationTimeout(), config.custody().publicationCheckInterval())
            .replaceWithVoid()).orElse(Uni.createFrom().voidItem()));
    // The server must not serve before this is done: startup (on the main thread, never an event loop) is the one
    // place the KMS waits for the database; every step above carries its own time limit.
    ready.await().indefinitely();
    LOG.infof("KMS '%s' ready", config.kmsId());
  }

  /**
   * This node's root generations: from {@code teekms.onboarding.source} into an empty database or for the copies it
   * lacks ({@code missing} empty = the database has no generation), else generation 1 on the very first start.
   */
  private static Uni<Void> obtainRoots(Optional<List<Integer>> missing, KmsConfig config, Pool pool, Clock clock,
      RootGenerationStore roots, AuditLog audit, RaTlsSetup ratls, PeerAttestation attestation,
      KmsPolicyPort kmsPolicy) {
    Optional<String> source = config.onboarding().source();
    if (source.isPresent() && missing.isEmpty()) {
      LOG.infof("onboarding: empty database, joining KMS '%s' through %s", config.kmsId(), source.get());
      return ReplicaJoin.join(source.get(), config, ratls, attestation, kmsPolicy, pool, roots, audit, clock);
    }
    if (missing.isPresent() && !missing.get().isEmpty()) {
      String lacking = "root generations " + missing.get() + " have no copy sealed under this node's sealing key "
          + roots.sealingKeyId() + " (they were sealed by replicas with other sealing keys)";
      if (source.isEmpty()) {
        return Uni.createFrom().failure(new IllegalStateException(lacking + "; set teekms.onboarding.source to a peer "
            + "that holds them so this node obtains them over mutual RA-TLS and seals its own copies"));
      }
      LOG.infof("onboarding: %s; obtaining them from %s", lacking, source.get());
      return ReplicaJoin.join(source.get(), config, ratls, attestation, kmsPolicy, pool, roots, audit, clock);
    }
    if (source.isPresent()) {
      LOG.infof("onboarding: this node holds its copies of every live root generation; teekms.onboarding.source is "
          + "not used");
      return Uni.createFrom().voidItem();
    }
    return RootBootstrap.ensureBootstrapped(pool, roots, audit, clock).ifNoItem().after(config.dbTimeout()).fail()
        .invoke(created -> {
          if (created) {
            LOG.infof("bootstrap: created root generation 1 of KMS '%s'", config.kmsId());
          }
        }).replaceWithVoid();
  }

  /**
   * Loads the keyring (proves the sealing key unseals the roots). With a chain, the database (host-writable,
   * restorable from a backup) is checked against the chain's root anchor before anything is unsealed: a generation
   * the chain says is destroyed is never unsealed. The anchor is read on the worker pool (blocking RPCs).
   */
  private static Uni<Void> loadKeyring(org.teekms.kms.admission.AppPolicyPort appPolicy, LiveKeyring keyring, Pool pool) {
    if (appPolicy instanceof org.teekms.kms.adapters.GovernanceAppPolicy chain) {
      return Uni.createFrom().item(chain::rootAnchor).runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
          .invoke(anchor -> LOG.infof("root generations checked against the %s", anchor))
          .chain(anchor -> keyring.derive(pool, anchor)).replaceWithVoid();
    }
    return keyring.derive(pool, null).replaceWithVoid();
  }
}
