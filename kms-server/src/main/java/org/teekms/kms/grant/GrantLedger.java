package org.teekms.kms.grant;

import io.smallrye.mutiny.Uni;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.jboss.logging.Logger;
import org.teekms.keys.AppId;
import org.teekms.kms.audit.AuditDetail;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;

/**
 * Records key releases. A grant row ({@link KeyGrantRecord}, persisted through Hibernate Reactive)
 * and the audit entry that records it are written in ONE transaction (group-committed with
 * concurrent ones, {@link AuditLog#commit}): the entry is appended first, the grant row points at
 * its seq; if either write fails, neither exists and the caller must not release any key (fail
 * closed). Denials are audited on their own.
 *
 * <p>Refusals during a database outage (docs/audit-log.md, "Refusals while the database is
 * unreachable"): a refusal whose entry cannot be written is kept in a bounded in-memory backlog
 * ({@code teekms.audit.refusal-backlog} entries), its detail marked with the time it was refused
 * ({@code refusedAt}) and {@code auditedLate}; while the backlog holds entries, new refusals queue
 * behind them; the backlog is appended in order, one entry per transaction, as soon as the database
 * answers again ({@link #drainBacklog}: after any later refusal or grant, and periodically). A
 * refusal that finds the backlog full is only counted ({@link #backlogDropped}). The backlog lives
 * in this process: a KMS that stops during the outage loses it.
 */
public final class GrantLedger {

  private static final Logger LOG = Logger.getLogger(GrantLedger.class);

  /** The default {@code teekms.audit.refusal-backlog}. */
  public static final int DEFAULT_BACKLOG = 10_000;

  private final AuditLog audit;
  private final Clock clock;
  private final int capacity;

  /** Refusals awaiting the database, oldest first. Guarded by itself. */
  private final Deque<AuditDraft> backlog = new ArrayDeque<>();

  private final AtomicBoolean draining = new AtomicBoolean();
  private final LongAdder queued = new LongAdder();
  private final LongAdder appended = new LongAdder();
  private final LongAdder dropped = new LongAdder();

  public GrantLedger(AuditLog audit) {
    this(audit, Clock.systemUTC(), DEFAULT_BACKLOG);
  }

  /**
   * @param backlogCapacity refusals kept in memory while the database is unreachable ({@code
   *     teekms.audit.refusal-backlog}, ≥ 0; 0 keeps none)
   */
  public GrantLedger(AuditLog audit, Clock clock, int backlogCapacity) {
    if (backlogCapacity < 0) {
      throw new IllegalArgumentException(
          "teekms.audit.refusal-backlog must not be negative, got " + backlogCapacity);
    }
    this.audit = audit;
    this.clock = clock;
    this.capacity = backlogCapacity;
  }

  /**
   * Writes the grant and its audit entry atomically; the returned entry's event id is the grant id.
   * The caller releases keys only after this completes successfully.
   */
  public Uni<AuditEntry> recordGrant(Grant grant) {
    AuditDraft draft =
        new AuditDraft(
            grant.grantId(),
            "GRANT_" + grant.kind().name(),
            grant.appId(),
            AuditDraft.Outcome.ALLOWED,
            "",
            AuditDetail.json(grant.auditFacts()));
    return audit
        .commit(draft, (session, entry) -> session.persist(KeyGrantRecord.of(grant, entry)))
        .invoke(this::drainIfBacklogged);
  }

  /**
   * Audits a refusal. The refusal stands whether or not this write succeeds. The Uni fails when the
   * entry was not written now; it is then kept in the backlog (or counted as dropped when that is
   * full) and appended once the database answers.
   *
   * @param appId the app it is filed under, or null for none
   */
  public Uni<AuditEntry> recordDenial(
      String kind, AppId appId, String reason, Map<String, ?> facts) {
    TreeMap<String, Object> sorted = new TreeMap<>(facts);
    AuditDraft draft = AuditDraft.denied(kind, appId, reason, AuditDetail.json(sorted));
    long refusedAt = clock.millis();
    CompletableFuture<AuditEntry> written = new CompletableFuture<>();
    boolean behind;
    synchronized (backlog) {
      behind = !backlog.isEmpty();
    }
    if (behind) {
      // Keeps the order: nothing is written around entries still waiting.
      String where = keep(late(draft, sorted, refusedAt));
      drainBacklog();
      written.completeExceptionally(
          new IllegalStateException(
              "refusal audit entry " + where + " (earlier refusals await the database)"));
      return Uni.createFrom().completionStage(written);
    }
    // Subscribed here, not by the caller: a caller that stops waiting does not stop the write, and
    // a failure is always backlogged.
    audit
        .appendAlone(draft)
        .subscribe()
        .with(
            written::complete,
            failure -> {
              keep(late(draft, sorted, refusedAt));
              written.completeExceptionally(failure);
            });
    return Uni.createFrom().completionStage(written);
  }

  /** The draft marked as written late: same event id, detail + refusedAt + auditedLate. */
  private static AuditDraft late(AuditDraft draft, TreeMap<String, Object> facts, long refusedAt) {
    TreeMap<String, Object> marked = new TreeMap<>(facts);
    marked.put("refusedAt", Instant.ofEpochMilli(refusedAt).toString());
    marked.put("auditedLate", true);
    return new AuditDraft(
        draft.eventId(),
        draft.kind(),
        draft.appId(),
        draft.outcome(),
        draft.reason(),
        AuditDetail.json(marked));
  }

  /** Queues {@code draft} at the end of the backlog; says where it went, for the caller's log. */
  private String keep(AuditDraft draft) {
    synchronized (backlog) {
      if (backlog.size() >= capacity) {
        dropped.increment();
        return "dropped: the backlog of "
            + capacity
            + " refusals awaiting the database is full (teekms.audit.refusal-backlog)";
      }
      backlog.addLast(draft);
      queued.increment();
      return "kept in the backlog (" + backlog.size() + " awaiting the database)";
    }
  }

  private void drainIfBacklogged(AuditEntry ignored) {
    boolean any;
    synchronized (backlog) {
      any = !backlog.isEmpty();
    }
    if (any) {
      drainBacklog();
    }
  }

  /**
   * Appends the backlog in order, one entry per transaction, until it is empty or a write fails
   * (then a later call resumes). At most one drain runs at a time; returns at once.
   */
  public void drainBacklog() {
    if (draining.compareAndSet(false, true)) {
      next();
    }
  }

  private void next() {
    AuditDraft head;
    synchronized (backlog) {
      head = backlog.peekFirst();
    }
    if (head == null) {
      draining.set(false);
      boolean more;
      synchronized (backlog) {
        more = !backlog.isEmpty();
      }
      if (more) {
        drainBacklog();
      }
      return;
    }
    audit
        .appendAlone(head)
        .subscribe()
        .with(
            entry -> {
              removeHead(head);
              appended.increment();
              next();
            },
            failure -> {
              if (alreadyWritten(failure)) {
                // The first attempt committed although its caller saw a failure: written once.
                removeHead(head);
                next();
                return;
              }
              LOG.debugf("refusal backlog: the database still fails: %s", failure.getMessage());
              draining.set(false);
            });
  }

  private void removeHead(AuditDraft head) {
    synchronized (backlog) {
      if (backlog.peekFirst() == head) {
        backlog.pollFirst();
      }
    }
  }

  /** A unique-key violation on the event id: this very entry is in the log already. */
  private static boolean alreadyWritten(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (m != null && m.contains("duplicate key") && m.contains("event_id")) {
        return true;
      }
    }
    return false;
  }

  /** Refusals awaiting the database now. */
  public int backlogSize() {
    synchronized (backlog) {
      return backlog.size();
    }
  }

  /** Refusals kept in the backlog so far. */
  public long backlogQueued() {
    return queued.sum();
  }

  /** Backlogged refusals appended to the log so far. */
  public long backlogAppended() {
    return appended.sum();
  }

  /** Refusals never audited because the backlog was full. */
  public long backlogDropped() {
    return dropped.sum();
  }
}
