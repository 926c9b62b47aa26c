package org.teekms.kms.keystate;

/**
 * Reads an app's on-chain rotation schedule. Never throws: a failure is a {@link
 * RotationSchedule#failed} value.
 */
public interface RotationScheduleReader {

  /**
   * @param appId the app's 20-byte id (its AppPolicy contract address)
   */
  RotationSchedule read(byte[] appId);

  /** No chain configured: every read fails with that reason. */
  static RotationScheduleReader unconfigured() {
    return appId -> RotationSchedule.failed("no chain configured (teekms.chain.*)");
  }
}
