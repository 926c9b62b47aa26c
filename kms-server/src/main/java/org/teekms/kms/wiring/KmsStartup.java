package org.teekms.kms.wiring;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.teekms.custody.CustodyException;
import org.teekms.custody.RecipientKeyPair;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.custody.CustodyChainPort;
import org.teekms.kms.custody.NodeRecovery;
import org.teekms.kms.custody.RecoveredRootStore;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.db.SchemaMigrator;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.onboarding.PublishedRootsPort;
import org.teekms.kms.replication.ReplicaJoin;
import org.teekms.kms.roots.KmsIdentityStore;
import org.teekms.kms.roots.RootBootstrap;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.seal.SealingKeyProvider;
import org.teekms.kms.tls.RaTlsSetup;

/**
 * Startup, in order: (before this observer runs, injecting the root store creates the sealing key,
 * which first makes {@link RaTlsSetup} measure the trust configuration into RTMR3:
 * docs/trust-config.md) loud simulator banner; schema migration (Flyway over JDBC); the database is
 * claimed for this KMS id; on the very first start root generation 1 is created, or, with {@code
 * teekms.onboarding.source}, the root generations are obtained from that node over mutual RA-TLS
 * ({@link ReplicaJoin}); with a chain, the database's root generations are checked against the
 * registry's root anchor (read through the RPC quorum; unreadable = startup fails); the keyring is
 * loaded (proves the sealing key unseals the roots; generations the chain says are destroyed are
 * not unsealed); with {@code teekms.custody.enabled}, the current generation is backed up to the
 * on-chain custodians and, with {@code require-published}, its publication awaited ({@link
 * org.teekms.kms.custody.RootBackups#backUpCurrent}). Any failure stops the server. With {@code
 * teekms.custody.recover-generation} and an empty database, the node instead recovers that
 * generation from the custodians ({@link NodeRecovery}, teekms.v1.Recovery) and then continues from
 * the keyring on.
 */
@ApplicationScoped
public class KmsStartup {

  private static final Logger LOG = Logger.getLogger(KmsStartup.class);

  void onStart(
      @Observes StartupEvent event,
      KmsConfig config,
      StateSessions sessions,
      Clock clock,
      SealingKeyProvider sealing,
      RootGenerationStore roots,
      AuditLog audit,
      LiveKeyring keyring,
      RaTlsSetup ratls,
      ReplicaJoin replicaJoin,
      org.teekms.kms.admission.AppPolicyPort appPolicy,
      CustodyWiring custody,
      RecoveryHolder recoveries,
      SchemaGate schema,
      @ConfigProperty(name = "quarkus.datasource.reactive.url") String url,
      @ConfigProperty(name = "quarkus.datasource.username", defaultValue = "postgres") String user,
      @ConfigProperty(name = "quarkus.datasource.password", defaultValue = "") String password) {
    if (config.simulator().enabled() || sealing.simulated()) {
      LOG.warn(
          "*****************************************************************************************");
      LOG.warn(
          "*  SIMULATOR ENABLED (teekms.simulator.enabled=true): simulated attestation / sealing.   *");
      LOG.warn(
          "*  This KMS protects NOTHING. Never use it with real keys or real users.                *");
      LOG.warn(
          "*****************************************************************************************");
    }
    DatabaseCoordinates db = DatabaseCoordinates.parse(url, user, password);
    String version = SchemaMigrator.migrate(db);
    LOG.infof("database %s at schema version %s", db, version);
    schema.migrated();
    Duration wait = config.dbTimeout();
    Uni<Void> ready =
        KmsIdentityStore.claim(sessions, config.kmsId(), clock.millis())
            .ifNoItem()
            .after(wait)
            .fail()
            .chain(() -> roots.list().ifNoItem().after(wait).fail())
            .chain(
                existing ->
                    existing.isEmpty()
                        ? Uni.createFrom().item(Optional.<List<Integer>>empty())
                        : roots.missingCopies().ifNoItem().after(wait).fail().map(Optional::of))
            // The rest of startup (chain reads, the recovery's setup) runs on a worker thread,
            // never on the database's event loop.
            .emitOn(Infrastructure.getDefaultWorkerPool())
            .chain(
                missing -> {
                  Optional<Integer> recover = config.custody().recoverGeneration();
                  if (recover.isPresent() && missing.isEmpty()) {
                    // Root recovery (docs/root-custody.md §6.4): startup returns so that the server
                    // can take the custodians' shares; the rest of startup runs once the root is
                    // recovered. Until then every key-serving call fails closed (no keyring) and
                    // teekms.v1.Recovery says what is missing.
                    NodeRecovery recovery =
                        startRecovery(
                            recover.get(),
                            config,
                            sessions,
                            clock,
                            roots,
                            audit,
                            ratls,
                            appPolicy,
                            custody,
                            recoveries);
                    finishAfterRecovery(
                        recovery, config, sessions, audit, appPolicy, keyring, custody);
                    return Uni.createFrom().voidItem();
                  }
                  if (recover.isPresent()) {
                    LOG.infof(
                        "recovery: the database holds root generations; teekms.custody.recover-generation=%d is not used",
                        recover.get());
                  }
                  return obtainRoots(missing, config, sessions, clock, roots, audit, replicaJoin)
                      .chain(() -> loadKeyring(appPolicy, keyring))
                      .chain(() -> backUp(config, sessions, audit, custody))
                      .invoke(() -> LOG.infof("KMS '%s' ready", config.kmsId()));
                });
    // The server must not serve before this is done: startup (on the main thread, never an event
    // loop) is the one place the KMS waits for the database; every step above carries its own time
    // limit.
    ready.await().indefinitely();
  }

  /**
   * Root custody: the current generation (generation 1 at bootstrap) is backed up before this node
   * serves; with teekms.custody.require-published, startup waits for the owner to publish it on
   * chain (fail closed). A recovered generation's backup is the published one it came from (already
   * PUBLISHED).
   */
  private static Uni<Void> backUp(
      KmsConfig config, StateSessions sessions, AuditLog audit, CustodyWiring custody) {
    return custody
        .backups()
        .map(
            b ->
                b.backUpCurrent(
                        sessions,
                        audit,
                        config.dbTimeout(),
                        config.custody().startupPublicationTimeout(),
                        config.custody().publicationCheckInterval())
                    .replaceWithVoid())
        .orElse(Uni.createFrom().voidItem());
  }

  /**
   * Starts recovering {@code generation}: the node's attested key is its RA-TLS key as of now (the
   * certificate custodians verify and the registry owner authorizes; kept for this recovery even if
   * the TLS certificate is renewed meanwhile). Needs the chain (custody contract, registry
   * identity).
   */
  private static NodeRecovery startRecovery(
      int generation,
      KmsConfig config,
      StateSessions sessions,
      Clock clock,
      RootGenerationStore roots,
      AuditLog audit,
      RaTlsSetup ratls,
      org.teekms.kms.admission.AppPolicyPort appPolicy,
      CustodyWiring custody,
      RecoveryHolder recoveries) {
    if (config.onboarding().source().isPresent()) {
      throw new IllegalStateException(
          "teekms.custody.recover-generation and teekms.onboarding.source are both set: a "
              + "node either recovers a root from the custodians or obtains the roots from a peer");
    }
    CustodyChainPort chain =
        custody
            .chain()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "teekms.custody.recover-generation needs teekms.custody.enabled=true"));
    if (!(appPolicy instanceof PublishedRootsPort published)) {
      throw new IllegalStateException(
          "teekms.custody.recover-generation needs the chain: the recovered root is "
              + "checked against the registry's published identity of the generation");
    }
    org.teekms.attest.ratls.RaTlsCredentials credentials = ratls.keyManager().credentials();
    RecipientKeyPair key;
    try {
      key = RecipientKeyPair.of(credentials.privateKey());
    } catch (CustodyException e) {
      throw new IllegalStateException("recovery needs a P-256 RA-TLS key: " + e.getMessage(), e);
    }
    NodeRecovery recovery =
        new NodeRecovery(
            generation,
            key,
            credentials.certificate(),
            chain,
            published,
            new RecoveredRootStore(
                sessions,
                roots,
                audit,
                clock,
                config.dbTimeout().multipliedBy(6),
                new SecureRandom()),
            clock,
            config.custody().recoveryChainFactsTtl());
    recoveries.start(recovery);
    LOG.infof(
        "recovery: empty database; recovering root generation %d from its custodians. Node key id 0x%s "
            + "(teekms custody recovery-status --node HOST:PORT prints the certificate for teekms gov authorize-recovery; "
            + "custodians send their shares with teekms custody release --to-node HOST:PORT)",
        generation, HexFormat.of().formatHex(recovery.nodeKeyId()));
    return recovery;
  }

  /**
   * After the recovery: the keyring, the (already published) backup, then serving; a failed
   * recovery (or none within {@code teekms.custody.recovery-timeout}) stops the KMS. Waits on no
   * thread.
   */
  private static void finishAfterRecovery(
      NodeRecovery recovery,
      KmsConfig config,
      StateSessions sessions,
      AuditLog audit,
      org.teekms.kms.admission.AppPolicyPort appPolicy,
      LiveKeyring keyring,
      CustodyWiring custody) {
    Duration limit = config.custody().recoveryTimeout();
    Uni.createFrom()
        .completionStage(recovery.done())
        .ifNoItem()
        .after(limit)
        .failWith(
            () ->
                new IllegalStateException(
                    "root generation "
                        + recovery.generation()
                        + " was not recovered within "
                        + limit
                        + " (teekms.custody.recovery-timeout): "
                        + recovery.progress().detail()))
        .invoke(() -> LOG.infof("recovery: %s", recovery.progress().detail()))
        .emitOn(Infrastructure.getDefaultWorkerPool())
        .chain(() -> loadKeyring(appPolicy, keyring))
        .chain(() -> backUp(config, sessions, audit, custody))
        .subscribe()
        .with(
            ok -> LOG.infof("KMS '%s' ready", config.kmsId()),
            failure -> {
              Throwable cause =
                  failure instanceof java.util.concurrent.CompletionException c
                          && c.getCause() != null
                      ? c.getCause()
                      : failure;
              LOG.errorf("recovery: %s; stopping", cause.getMessage());
              Quarkus.asyncExit(1);
            });
  }

  /**
   * This node's root generations: from {@code teekms.onboarding.source} into an empty database or
   * for the copies it lacks ({@code missing} empty = the database has no generation), else
   * generation 1 on the very first start.
   */
  private static Uni<Void> obtainRoots(
      Optional<List<Integer>> missing,
      KmsConfig config,
      StateSessions sessions,
      Clock clock,
      RootGenerationStore roots,
      AuditLog audit,
      ReplicaJoin join) {
    Optional<String> source = config.onboarding().source();
    if (source.isPresent() && missing.isEmpty()) {
      LOG.infof(
          "onboarding: empty database, joining KMS '%s' through %s", config.kmsId(), source.get());
      return join.join().replaceWithVoid();
    }
    if (missing.isPresent() && !missing.get().isEmpty()) {
      String lacking =
          "root generations "
              + missing.get()
              + " have no copy sealed under this node's sealing key "
              + roots.sealingKeyId()
              + " (they were sealed by replicas with other sealing keys)";
      if (source.isEmpty()) {
        return Uni.createFrom()
            .failure(
                new IllegalStateException(
                    lacking
                        + "; set teekms.onboarding.source to a peer "
                        + "that holds them so this node obtains them over mutual RA-TLS and seals its own copies"));
      }
      LOG.infof("onboarding: %s; obtaining them from %s", lacking, source.get());
      return join.join().replaceWithVoid();
    }
    if (source.isPresent()) {
      LOG.infof(
          "onboarding: this node holds its copies of every live root generation; teekms.onboarding.source is "
              + "not used");
      return Uni.createFrom().voidItem();
    }
    return RootBootstrap.ensureBootstrapped(sessions, roots, audit, clock)
        .ifNoItem()
        .after(config.dbTimeout())
        .fail()
        .invoke(
            created -> {
              if (created) {
                LOG.infof("bootstrap: created root generation 1 of KMS '%s'", config.kmsId());
              }
            })
        .replaceWithVoid();
  }

  /**
   * Loads the keyring (proves the sealing key unseals the roots). With a chain, the database
   * (host-writable, restorable from a backup) is checked against the chain's root anchor before
   * anything is unsealed: a generation the chain says is destroyed is never unsealed. The anchor is
   * read on the worker pool (blocking RPCs).
   */
  private static Uni<Void> loadKeyring(
      org.teekms.kms.admission.AppPolicyPort appPolicy, LiveKeyring keyring) {
    if (appPolicy instanceof org.teekms.kms.adapters.GovernanceAppPolicy chain) {
      return Uni.createFrom()
          .item(chain::rootAnchor)
          .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
          .invoke(anchor -> LOG.infof("root generations checked against the %s", anchor))
          .chain(anchor -> keyring.derive(anchor))
          .replaceWithVoid();
    }
    return keyring.derive(null).replaceWithVoid();
  }
}
