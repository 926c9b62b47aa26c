package org.teekms.kms.wiring;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;
import org.teekms.kms.status.ClockSkewProbe;

/**
 * Reads this node's clock against the chain's every 30 s (from 2 s after startup), so that a
 * refusal caused by this node's clock is named {@code KMS_CLOCK_SKEW} from the first one on, and
 * warns in the log when the skew leaves the allowance (once per change, not at every reading).
 */
@ApplicationScoped
public class ClockSkewRefresh {

  private static final Logger LOG = Logger.getLogger(ClockSkewRefresh.class);

  private final ClockSkewProbe probe;
  private volatile boolean warned;

  public ClockSkewRefresh(ClockSkewProbe probe) {
    this.probe = probe;
  }

  @Scheduled(
      every = "30s",
      delayed = "2s",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void refresh() {
    ClockSkewProbe.Reading r = probe.probe();
    boolean beyond = r.kmsAhead() || r.kmsBehind();
    if (beyond && !warned) {
      LOG.warn(r.problem());
    } else if (!beyond && warned && r.known()) {
      LOG.infof(
          "this node's clock is within the allowance again (%d s off the chain's latest block)",
          r.skew().toSeconds());
    }
    if (r.known()) {
      warned = beyond;
    }
  }
}
