package org.teekms.kms.rotation;

import java.util.UUID;

/**
 * One committed step of a rotation job: which job, from which state to which, and what it did (for
 * progress output).
 */
public record StepResult(
    UUID jobId,
    RotationJob.Kind kind,
    RotationJob.State from,
    RotationJob.State to,
    String summary) {}
