package org.teekms.kms.keystate;

import org.teekms.keys.AppId;

/**
 * Reads an app's on-chain rotation schedule. Never throws: a failure is a {@link
 * RotationSchedule#failed} value.
 */
public interface RotationScheduleReader {

  /**
   * @param appId the app (its AppPolicy contract address)
   */
  RotationSchedule read(AppId appId);

  /** No chain configured: every read fails with that reason. */
  static RotationScheduleReader unconfigured() {
    return appId -> RotationSchedule.failed("no chain configured (teekms.chain.*)");
  }
}
