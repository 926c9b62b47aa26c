package org.teekms.kms.wiring;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;
import org.teekms.kms.audit.AuditAnchorWorker;

/**
 * Anchors the audit head every {@code teekms.audit.anchor-interval} ({@code off} by default). Safe
 * on every replica: the registry accepts one anchor per new entry count, a replica that comes
 * second gets a refusal and logs it.
 */
@ApplicationScoped
public class AuditAnchorScheduler {

  private static final Logger LOG = Logger.getLogger(AuditAnchorScheduler.class);

  private final AuditAnchorWorker worker;

  public AuditAnchorScheduler(AuditAnchorWorker worker) {
    this.worker = worker;
  }

  @Scheduled(
      every = "${teekms.audit.anchor-interval:off}",
      delayed = "2s",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
      skipExecutionIf = org.teekms.kms.wiring.SchemaGate.class)
  Uni<Void> anchor() {
    return worker
        .anchorOnce()
        .invoke(
            r -> {
              switch (r.outcome()) {
                case ANCHORED -> LOG.infof("audit anchor: %s", r.detail());
                case NOTHING, UP_TO_DATE -> LOG.debugf("audit anchor: %s", r.detail());
                case REFUSED_BROKEN, REFUSED_BEHIND ->
                    LOG.errorf("audit anchor refused (%s): %s", r.outcome(), r.detail());
                default ->
                    LOG.warnf("audit anchor failed (%s, will retry): %s", r.outcome(), r.detail());
              }
            })
        .onFailure()
        .invoke(e -> LOG.warnf("audit anchor failed (will retry): %s", e.getMessage()))
        .onFailure()
        .recoverWithNull()
        .replaceWithVoid();
  }
}
