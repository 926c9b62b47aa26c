package org.teekms.kms.roots;

import java.util.Optional;

/**
 * Public facts about a root generation (no secret). Times are epoch milliseconds; absent ones are
 * empty.
 */
public record RootGeneration(
    int generation,
    RootState state,
    String sealingKeyId,
    long createdAt,
    Optional<Long> retiredAt,
    Optional<Long> destroyAfter,
    Optional<Long> destroyedAt) {}
