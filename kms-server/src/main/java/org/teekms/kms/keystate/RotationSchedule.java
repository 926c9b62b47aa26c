package org.teekms.kms.keystate;

/**
 * An app's on-chain rotation schedule at one pinned block: {@code AppPolicy.keyState()}'s period
 * and last rotation, and {@code AppPolicy.rotationDue()} (period set and elapsed at that block's
 * time). The chain, not the KMS, decides when versions change (kms-server/README.md "Rotation");
 * this is what auditors and alerts watch.
 *
 * @param failure null when read; else why not (every other field is then zero)
 */
public record RotationSchedule(
    boolean due,
    long periodSeconds,
    long lastRotationEpochSeconds,
    long chainId,
    long blockNumber,
    String blockHash,
    String failure) {

  public static RotationSchedule failed(String why) {
    return new RotationSchedule(false, 0, 0, 0, 0, "", why);
  }

  public boolean read() {
    return failure == null;
  }
}
