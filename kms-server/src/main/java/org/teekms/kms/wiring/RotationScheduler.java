package org.teekms.kms.wiring;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;
import org.teekms.kms.rotation.RotationWorker;

/**
 * Runs runnable rotation job steps every {@code teekms.rotation.poll-interval}. Safe on every
 * replica at once: steps are claimed with FOR UPDATE SKIP LOCKED. Non-blocking: a poll is one Uni,
 * which the scheduler subscribes to.
 */
@ApplicationScoped
public class RotationScheduler {

  private static final Logger LOG = Logger.getLogger(RotationScheduler.class);

  private final RotationWorker worker;
  private final KmsConfig config;

  public RotationScheduler(RotationWorker worker, KmsConfig config) {
    this.worker = worker;
    this.config = config;
  }

  @Scheduled(
      every = "${teekms.rotation.poll-interval:10s}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
      skipExecutionIf = org.teekms.kms.wiring.SchemaGate.class,
      delayed = "5s")
  Uni<Void> poll() {
    return worker
        .runUntilIdle(100)
        .ifNoItem()
        .after(config.dbTimeout().multipliedBy(10))
        .fail()
        .invoke(
            steps ->
                steps.forEach(
                    s ->
                        LOG.infof(
                            "rotation job %s (%s): %s -> %s: %s",
                            s.jobId(), s.kind(), s.from(), s.to(), s.summary())))
        .onFailure()
        .invoke(e -> LOG.warnf("rotation poll failed (will retry): %s", e.getMessage()))
        .onFailure()
        .recoverWithNull()
        .replaceWithVoid();
  }
}
