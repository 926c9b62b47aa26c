package org.teekms.kms.wiring;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import org.teekms.kms.grant.GrantLedger;

/**
 * Retries the refusal backlog ({@link GrantLedger#drainBacklog}) every {@code
 * teekms.audit.refusal-backlog-retry}, so refusals kept during a database outage are appended once
 * it ends even when no later refusal or grant triggers it. Does nothing while the backlog is empty.
 */
@ApplicationScoped
public class AuditBacklogScheduler {

  private final GrantLedger ledger;

  public AuditBacklogScheduler(GrantLedger ledger) {
    this.ledger = ledger;
  }

  @Scheduled(
      every = "${teekms.audit.refusal-backlog-retry:5s}",
      delayed = "5s",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
      skipExecutionIf = org.teekms.kms.wiring.SchemaGate.class)
  void retry() {
    if (ledger.backlogSize() > 0) {
      ledger.drainBacklog();
    }
  }
}
