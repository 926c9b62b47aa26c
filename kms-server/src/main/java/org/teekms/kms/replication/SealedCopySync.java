package org.teekms.kms.replication;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Keeps this node's sealed copies complete on a database shared with replicas that have other
 * sealing keys: every {@code teekms.rotation.poll-interval}, a live root generation without this
 * node's copy (one promoted by another replica's rotation) is obtained by onboarding from {@code
 * teekms.onboarding.source} ({@link ReplicaJoin}) and sealed under this node's key. Until then this
 * node cannot derive from that generation and refuses with the reason; it never serves without it.
 * The join is this node's one {@link ReplicaJoin}, shared with startup's. Without an onboarding
 * source the gap is logged as an error each poll. Non-blocking: a poll is one Uni (the RA-TLS fetch
 * inside runs on the worker pool).
 */
@ApplicationScoped
public class SealedCopySync {

  private static final Logger LOG = Logger.getLogger(SealedCopySync.class);

  private final KmsConfig config;
  private final RootGenerationStore roots;
  private final ReplicaJoin join;

  public SealedCopySync(KmsConfig config, RootGenerationStore roots, ReplicaJoin join) {
    this.config = config;
    this.roots = roots;
    this.join = join;
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
              return join.join().replaceWithVoid();
            })
        .onFailure()
        .invoke(e -> LOG.warnf("sealed-copy sync failed (will retry): %s", e.getMessage()))
        .onFailure()
        .recoverWithNull();
  }
}
