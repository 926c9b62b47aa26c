package org.teekms.kms.audit;

import io.smallrye.mutiny.Uni;
import java.time.Clock;
import java.time.Duration;

/**
 * The Auditor API's chain verification, bounded: anyone may ask, so a call must not cost a walk of
 * the whole log.
 *
 * <ol>
 *   <li>Calls made while a verification runs share it (one walk at a time per node).
 *   <li>After a valid verification, the next ones walk only what was appended since ({@link
 *       AuditLog#verifyAfter}), from that verified checkpoint.
 *   <li>A full walk from the genesis hash runs first, then again once {@code fullEvery} has passed
 *       since the last one (an edit before the checkpoint is found by it), and after any broken
 *       result.
 * </ol>
 */
public final class AuditChainVerifier {

  private final AuditLog log;
  private final Clock clock;
  private final Duration fullEvery;
  private ChainVerification checkpoint;
  private long lastFullMillis;
  private Uni<ChainVerification> running;
  private long lastWalked;
  private long runningSince;

  /**
   * A shared walk older than this is not joined any more (its database call hangs): the next call
   * starts afresh.
   */
  static final Duration STUCK = Duration.ofMinutes(5);

  public AuditChainVerifier(AuditLog log, Clock clock, Duration fullEvery) {
    this.log = log;
    this.clock = clock;
    this.fullEvery = fullEvery;
  }

  /** The chain's state now (entries appended while it runs may be left to the next call). */
  public synchronized Uni<ChainVerification> verify() {
    if (running != null && clock.millis() - runningSince < STUCK.toMillis()) {
      return running;
    }
    ChainVerification from = checkpoint;
    boolean full = from == null || clock.millis() - lastFullMillis >= fullEvery.toMillis();
    long startedAt = clock.millis();
    Uni<ChainVerification> walk =
        full ? log.verify() : log.verifyAfter(from.entriesChecked(), from.headHash().toByteArray());
    Uni<ChainVerification> shared =
        walk.onItemOrFailure()
            .invoke((v, failure) -> finished(v, full, from, startedAt))
            .memoize()
            .indefinitely();
    running = shared;
    runningSince = startedAt;
    return shared;
  }

  private synchronized void finished(
      ChainVerification v, boolean full, ChainVerification from, long startedAt) {
    running = null;
    if (v == null) {
      return; // the database failed: keep the checkpoint, the caller gets the failure
    }
    lastWalked =
        full || from == null ? v.entriesChecked() : v.entriesChecked() - from.entriesChecked();
    if (v.valid()) {
      checkpoint = v;
      if (full) {
        lastFullMillis = startedAt;
      }
    } else {
      checkpoint = null; // a broken chain is walked in full again at every call until it verifies
    }
  }

  /** Entries the last finished verification walked (tests and diagnostics). */
  synchronized long lastWalked() {
    return lastWalked;
  }
}
