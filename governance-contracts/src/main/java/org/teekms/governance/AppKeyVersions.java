package org.teekms.governance;

/**
 * An app's key-version state (AppPolicy.keyState): versions {@code minimum..current} may be served,
 * lower ones never.
 *
 * @param current the version for new use
 * @param minimum the lowest version still served
 * @param rotationPeriodSeconds scheduled rotation period, 0 = none
 * @param lastRotationEpochSeconds block time of the last rotateKeys (creation time at first)
 */
public record AppKeyVersions(
    long current, long minimum, long rotationPeriodSeconds, long lastRotationEpochSeconds) {
  public AppKeyVersions {
    if (minimum < 1 || current < minimum) {
      throw new IllegalArgumentException(
          "inconsistent key versions: min " + minimum + ", current " + current);
    }
  }

  /** May key version {@code v} be served? */
  public boolean serves(long v) {
    return v >= minimum && v <= current;
  }
}
