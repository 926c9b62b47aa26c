package org.teekms.governance;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code KmsRegistry.kmsIdentity(generation).rootPublicKeys} read at a pinned block: published
 * (with the bytes), not published (the registry has no identity for that generation yet), or
 * unavailable (the chain could not be read reliably; {@code reason} says why). Never "published" on
 * doubt.
 */
public record PublishedRootKeys(
    long generation,
    Status status,
    Optional<byte[]> rootPublicKeys,
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
    rootPublicKeys = rootPublicKeys.map(byte[]::clone);
  }

  @Override
  public Optional<byte[]> rootPublicKeys() {
    return rootPublicKeys.map(byte[]::clone);
  }

  private Object[] values() {
    return new Object[] {
      generation, status, rootPublicKeys.orElse(null), blockNumber, blockHash, reason
    };
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PublishedRootKeys p && Arrays.deepEquals(values(), p.values());
  }

  @Override
  public int hashCode() {
    return Arrays.deepHashCode(values());
  }

  public static PublishedRootKeys published(
      long generation, byte[] keys, long blockNumber, String blockHash) {
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
