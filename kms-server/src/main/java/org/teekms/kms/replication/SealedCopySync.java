package org.teekms.kms.replication;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import org.jboss.logging.Logger;
import org.teekms.kms.admission.PeerAttestation;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.onboarding.KmsPolicyPort;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.tls.RaTlsSetup;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Keeps this node's sealed copies complete on a database shared with replicas that have other
 * sealing keys: every {@code teekms.rotation.poll-interval}, a live root generation without this
 * node's copy (one promoted by another replica's rotation) is obtained by onboarding from {@code
 * teekms.onboarding.source} ({@link ReplicaJoin}) and sealed under this node's key. Until then this
 * node cannot derive from that generation and refuses with the reason; it never serves without it.
 * Without an onboarding source the gap is logged as an error each poll. Non-blocking: a poll is one
 * Uni (the RA-TLS fetch inside runs on the worker pool).
 */
@ApplicationScoped
public class SealedCopySync {

  private static final Logger LOG = Logger.getLogger(SealedCopySync.class);

  private final KmsConfig config;
  private final StateSessions sessions;
  private final RootGenerationStore roots;
  private final RaTlsSetup ratls;
  private final PeerAttestation attestation;
  private final KmsPolicyPort kmsPolicy;
  private final AuditLog audit;
  private final Clock clock;

  public SealedCopySync(
      KmsConfig config,
      StateSessions sessions,
      RootGenerationStore roots,
      RaTlsSetup ratls,
      PeerAttestation attestation,
      KmsPolicyPort kmsPolicy,
      AuditLog audit,
      Clock clock) {
    this.config = config;
    this.sessions = sessions;
    this.roots = roots;
    this.ratls = ratls;
    this.attestation = attestation;
    this.kmsPolicy = kmsPolicy;
    this.audit = audit;
    this.clock = clock;
  }

  @Scheduled(
      every = "${teekms.rotation.poll-interval:10s}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
      skipExecutionIf = org.teekms.kms.wiring.SchemaGate.class,
      delayed = "5s")
  Uni<Void> poll() {
    return roots
        .missingCopies()
        .ifNoItem()
        .after(config.dbTimeout())
        .fail()
        .chain(
            missing -> {
              if (missing.isEmpty()) {
                return Uni.createFrom().voidItem();
              }
              if (config.onboarding().source().isEmpty()) {
                LOG.errorf(
                    "root generations %s have no copy sealed under this node's sealing key %s and no "
                        + "teekms.onboarding.source is set: this node cannot serve keys of those generations",
                    missing, roots.sealingKeyId());
                return Uni.createFrom().voidItem();
              }
              return ReplicaJoin.join(
                  config.onboarding().source().get(),
                  config,
                  ratls,
                  attestation,
                  kmsPolicy,
                  sessions,
                  roots,
                  audit,
                  clock);
            })
        .onFailure()
        .invoke(e -> LOG.warnf("sealed-copy sync failed (will retry): %s", e.getMessage()))
        .onFailure()
        .recoverWithNull();
  }
}
