package org.teekms.kms.audit;

import io.smallrye.mutiny.Uni;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.teekms.kms.db.StateSessions;

/**
 * Group commit for audit entries that own their transaction (grants with their grant row, denials).
 * Every append must lock the single chain head, so one transaction per entry serializes the KMS on
 * that lock: under load its hold time (statements, commit flush, and the CPU waits between them)
 * bounds admissions per second. Here entries queued while a transaction runs are written together
 * by the next one: one head lock, one commit, the entries in one {@code audit_append} call and the
 * follow-up rows flushed together (one Hibernate Reactive session per transaction, its own,
 * whatever context the submitter runs on). Nothing changes for a caller: its entry (and its
 * follow-up row) is committed when its Uni completes, and not at all when it fails.
 *
 * <p>A batch that fails is retried entry by entry, so one bad entry (e.g. a duplicate grant id) is
 * refused alone and cannot deny the others. At most one transaction of this node runs at a time;
 * replicas still serialize on the head row lock, now taken inside PostgreSQL by {@code
 * audit_append} rather than across this JVM's round trips.
 */
final class AuditGroupCommit {

  /** Bounds a transaction's size (and the latency of the entries at its end). */
  static final int MAX_BATCH = 256;

  private record Pending(AuditLog.Append append, CompletableFuture<AuditEntry> done) {}

  private final StateSessions sessions;
  private final AuditLog log;
  private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();

  /**
   * Entries of a failed batch, retried one per transaction before new ones. Guarded by {@link
   * #writing}.
   */
  private final Deque<Pending> retryAlone = new ArrayDeque<>();

  private final AtomicBoolean writing = new AtomicBoolean();

  AuditGroupCommit(StateSessions sessions, AuditLog log) {
    this.sessions = sessions;
    this.log = log;
  }

  Uni<AuditEntry> submit(AuditDraft draft, AuditLog.FollowUp followUp) {
    return Uni.createFrom()
        .deferred(
            () -> {
              Pending p =
                  new Pending(new AuditLog.Append(draft, followUp), new CompletableFuture<>());
              queue.add(p);
              drain();
              return Uni.createFrom().completionStage(p.done());
            });
  }

  private void drain() {
    // Whoever sets `writing` starts the next transaction; the finishing transaction calls drain()
    // again, and the
    // re-check after releasing the flag closes the race with a submit that found it set.
    while (writing.compareAndSet(false, true)) {
      List<Pending> batch = new ArrayList<>();
      if (!retryAlone.isEmpty()) {
        batch.add(retryAlone.poll());
      } else {
        for (Pending p; batch.size() < MAX_BATCH && (p = queue.poll()) != null; ) {
          batch.add(p);
        }
      }
      if (batch.isEmpty()) {
        writing.set(false);
        if (queue.isEmpty()) {
          return;
        }
        continue;
      }
      write(batch);
      return;
    }
  }

  private void write(List<Pending> batch) {
    Uni<List<AuditEntry>> tx;
    try {
      tx =
          sessions.inTransaction(
              session -> log.appendAll(session, batch.stream().map(Pending::append).toList()));
    } catch (RuntimeException e) {
      tx = Uni.createFrom().failure(e);
    }
    tx.subscribe()
        .with(
            entries -> {
              writing.set(false);
              for (int i = 0; i < batch.size(); i++) {
                batch.get(i).done().complete(entries.get(i));
              }
              drain();
            },
            failure -> {
              if (batch.size() == 1) {
                batch.get(0).done().completeExceptionally(failure);
              } else {
                retryAlone.addAll(batch);
              }
              writing.set(false);
              drain();
            });
  }
}
