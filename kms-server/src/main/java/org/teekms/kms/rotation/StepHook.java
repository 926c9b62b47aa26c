package org.teekms.kms.rotation;

import java.util.UUID;

/**
 * Called inside a step's transaction after its effects are written and before it commits.
 * Production passes {@link #NONE}; crash tests pass a hook that throws, which rolls the step back
 * exactly as a process kill would.
 */
@FunctionalInterface
public interface StepHook {

  StepHook NONE = (jobId, from, to) -> {};

  void beforeCommit(UUID jobId, RotationJob.State from, RotationJob.State to);
}
