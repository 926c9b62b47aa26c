package org.teekms.kms.wiring;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import org.jboss.logging.Logger;
import org.teekms.kms.rotation.RotationWorker;
import org.teekms.kms.rotation.StepResult;

/**
 * Runs runnable rotation job steps every {@code teekms.rotation.poll-interval}. Safe on every replica at once: steps
 * are claimed with FOR UPDATE SKIP LOCKED.
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

  @Scheduled(every = "${teekms.rotation.poll-interval:10s}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
      delayed = "5s")
  void poll() {
    try {
      List<StepResult> steps = worker.runUntilIdle(100).await().atMost(config.dbTimeout().multipliedBy(10));
      steps.forEach(s -> LOG.infof("rotation job %s (%s): %s -> %s: %s", s.jobId(), s.kind(), s.from(), s.to(), s.summary()));
    } catch (RuntimeException e) {
      LOG.warnf("rotation poll failed (will retry): %s", e.getMessage());
    }
  }
}
