package org.teekms.kms.rotation;

import java.util.Optional;
import java.util.UUID;
import org.teekms.keys.AppId;

/** A rotation job row: a state machine persisted in {@code rotation_job}. */
public record RotationJob(
    UUID jobId,
    Kind kind,
    String dedupeKey,
    Optional<AppId> appId,
    Optional<Integer> targetVersion,
    Optional<Integer> targetMinVersion,
    Optional<Integer> fromGeneration,
    Optional<Integer> targetGeneration,
    State state,
    String reason,
    int attempts,
    Optional<String> lastError,
    long notBefore,
    long createdAt,
    long updatedAt) {

  public enum Kind {
    APP_ROTATION,
    ROOT_ROTATION
  }

  /**
   * APP_ROTATION: PENDING → DONE. ROOT_ROTATION: PENDING → GENERATED → PROMOTED → APPS_MOVED →
   * DONE; with root custody ({@code teekms.custody.enabled}) GENERATED → BACKED_UP → PROMOTED (the
   * new generation's backup is staged, then promotion waits for its on-chain publication when
   * {@code teekms.custody.require-published}). FAILED: a precondition no longer holds (e.g. another
   * root rotation moved the current generation); never retried.
   */
  public enum State {
    PENDING,
    GENERATED,
    BACKED_UP,
    PROMOTED,
    APPS_MOVED,
    DONE,
    FAILED
  }

  public boolean finished() {
    return state == State.DONE || state == State.FAILED;
  }
}
