package org.teekms.governance;

import java.util.Objects;
import java.util.Optional;
import org.teekms.crypto.Bytes;

/**
 * {@code KmsRegistry.kmsIdentity(generation).rootPublicKeys} read at a pinned block: published
 * (with the bytes), not published (the registry has no identity for that generation yet), or
 * unavailable (the chain could not be read reliably; {@code reason} says why). Never "published" on
 * doubt.
 */
public record PublishedRootKeys(
    long generation,
    Status status,
    Optional<Bytes> rootPublicKeys,
    long blockNumber,
    String blockHash,
    String reason) {

  public enum Status {
    PUBLISHED,
    NOT_PUBLISHED,
    UNAVAILABLE
  }

  public PublishedRootKeys {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(rootPublicKeys, "rootPublicKeys");
    Objects.requireNonNull(blockHash, "blockHash");
    Objects.requireNonNull(reason, "reason");
    if ((status == Status.PUBLISHED) != rootPublicKeys.isPresent()) {
      throw new IllegalArgumentException("root public keys come with, and only with, PUBLISHED");
    }
  }

  public static PublishedRootKeys published(
      long generation, Bytes keys, long blockNumber, String blockHash) {
    return new PublishedRootKeys(
        generation, Status.PUBLISHED, Optional.of(keys), blockNumber, blockHash, "");
  }

  public static PublishedRootKeys notPublished(
      long generation, long blockNumber, String blockHash, String reason) {
    return new PublishedRootKeys(
        generation, Status.NOT_PUBLISHED, Optional.empty(), blockNumber, blockHash, reason);
  }

  public static PublishedRootKeys unavailable(long generation, String reason) {
    return new PublishedRootKeys(generation, Status.UNAVAILABLE, Optional.empty(), -1, "", reason);
  }
}
