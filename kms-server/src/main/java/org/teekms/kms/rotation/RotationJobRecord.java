package org.teekms.kms.rotation;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.util.Optional;
import java.util.UUID;
import org.teekms.keys.AppId;

/**
 * A row of {@code rotation_job}: a rotation state machine. Claimed by {@link RotationWorker} with
 * explicit SQL ({@code FOR UPDATE SKIP LOCKED}, which HQL cannot express) that returns this entity
 * managed, so a step's transition is written by the flush of the transaction that claimed it,
 * together with the step's effect and audit entry. Enqueued by {@link RotationJobs} (deduplicated
 * with {@code ON CONFLICT DO NOTHING}). Nothing outside this package sees an instance. Every change
 * goes through a method of this class: Quarkus enhances entities for inline dirty tracking, which
 * sees only writes made by the entity itself.
 */
@Entity
@Table(name = "rotation_job")
public class RotationJobRecord {

  @Id
  @Column(name = "job_id")
  UUID jobId;

  @Enumerated(EnumType.STRING)
  @Column(name = "kind", nullable = false)
  RotationJob.Kind kind;

  @Column(name = "dedupe_key", nullable = false)
  String dedupeKey;

  @Column(name = "app_id")
  byte[] appId;

  @Column(name = "from_version")
  Integer fromVersion;

  @Column(name = "target_version")
  Integer targetVersion;

  @Column(name = "target_min_version")
  Integer targetMinVersion;

  @Column(name = "from_generation")
  Integer fromGeneration;

  @Column(name = "target_generation")
  Integer targetGeneration;

  @Enumerated(EnumType.STRING)
  @Column(name = "state", nullable = false)
  RotationJob.State state;

  @Column(name = "reason", nullable = false)
  String reason;

  @Column(name = "attempts", nullable = false)
  int attempts;

  @Column(name = "last_error")
  String lastError;

  @Column(name = "not_before", nullable = false)
  long notBefore;

  @Column(name = "created_at", nullable = false)
  long createdAt;

  @Column(name = "updated_at", nullable = false)
  long updatedAt;

  @Column(name = "finished_at")
  Long finishedAt;

  protected RotationJobRecord() {}

  RotationJobRecord(
      UUID jobId,
      RotationJob.Kind kind,
      String dedupeKey,
      RotationJob.State state,
      String reason,
      long notBefore,
      long now) {
    this.jobId = jobId;
    this.kind = kind;
    this.dedupeKey = dedupeKey;
    this.state = state;
    this.reason = reason;
    this.notBefore = notBefore;
    this.createdAt = now;
    this.updatedAt = now;
  }

  /** ROOT_ROTATION, PENDING → GENERATED: the generation rotated from and the new one. */
  void generations(int from, int target) {
    this.fromGeneration = from;
    this.targetGeneration = target;
  }

  /** The step's transition; {@code notBefore} null keeps the current one. */
  void transition(RotationJob.State to, long now, Long notBefore) {
    this.state = to;
    this.updatedAt = now;
    this.lastError = null;
    if (notBefore != null) {
      this.notBefore = notBefore;
    }
    boolean finished = to == RotationJob.State.DONE || to == RotationJob.State.FAILED;
    this.finishedAt = finished ? now : null;
  }

  /** A step whose precondition no longer holds: FAILED for good. */
  void fail(String why, long now) {
    this.state = RotationJob.State.FAILED;
    this.lastError = why;
    this.updatedAt = now;
    this.finishedAt = now;
  }

  /** Same state, tried again at {@code notBefore} (waiting for something outside, no error). */
  void waitUntil(long notBefore, String why, long now) {
    this.notBefore = notBefore;
    this.lastError = why;
    this.updatedAt = now;
  }

  /** A step that rolled back: one more attempt counted, backing off (capped at 10 minutes). */
  void countError(String message, long now) {
    this.attempts++;
    long backoff = Math.min(600_000L, 1000L << Math.min(attempts, 10));
    this.lastError = message.length() > 500 ? message.substring(0, 500) : message;
    this.notBefore = now + backoff;
    this.updatedAt = now;
  }

  RotationJob toJob() {
    return new RotationJob(
        jobId,
        kind,
        dedupeKey,
        Optional.ofNullable(appId).map(AppId::of),
        Optional.ofNullable(targetVersion),
        Optional.ofNullable(targetMinVersion),
        Optional.ofNullable(fromGeneration),
        Optional.ofNullable(targetGeneration),
        state,
        reason,
        attempts,
        Optional.ofNullable(lastError),
        notBefore,
        createdAt,
        updatedAt);
  }
}
