package org.teekms.keys;

import java.util.Set;
import java.util.TreeSet;

/**
 * Which key versions of one app are served (docs §7): v is served iff minimum <= v <= current and v
 * is not withdrawn. ("Retired" names root generations only: docs/key-derivation.md §1.) Immutable;
 * rotation and withdrawal return new policies. Nothing here involves randomness, so replicas agree.
 */
public record KeyVersionPolicy(int current, int minimum, Set<Integer> withdrawn) {
  public KeyVersionPolicy {
    withdrawn = Set.copyOf(withdrawn);
    if (minimum < 1) {
      throw new IllegalArgumentException("minimum must be >= 1, got " + minimum);
    }
    if (current < minimum) {
      throw new IllegalArgumentException(
          "current (" + current + ") must be >= minimum (" + minimum + ")");
    }
    if (withdrawn.contains(current)) {
      throw new IllegalArgumentException("current version " + current + " cannot be withdrawn");
    }
  }

  /** A new app: version 1, nothing withdrawn. */
  public static KeyVersionPolicy initial() {
    return new KeyVersionPolicy(1, 1, Set.of());
  }

  public boolean allows(int version) {
    return version >= 1 && version >= minimum && version <= current && !withdrawn.contains(version);
  }

  /**
   * Throws {@link KeyRefusedException} with the precise reason unless {@code version} is served.
   */
  public void check(int version) {
    if (version < 1) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.VERSION_INVALID, "version " + version + " < 1");
    }
    if (version > current) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.VERSION_NOT_YET_ISSUED,
          "version " + version + " > current " + current);
    }
    if (version < minimum) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.VERSION_BELOW_MINIMUM,
          "version " + version + " < minimum " + minimum);
    }
    if (withdrawn.contains(version)) {
      throw new KeyRefusedException(
          KeyRefusedException.Reason.VERSION_WITHDRAWN, "version " + version + " is withdrawn");
    }
  }

  /** Rotation: the next version becomes current; older ones stay served until withdrawn. */
  public KeyVersionPolicy rotate() {
    if (current == Integer.MAX_VALUE) {
      throw new IllegalStateException("version space exhausted");
    }
    return new KeyVersionPolicy(current + 1, minimum, withdrawn);
  }

  /** Withdraws one old version (never the current one). */
  public KeyVersionPolicy withdraw(int version) {
    if (version < 1 || version >= current) {
      throw new IllegalArgumentException(
          "only versions 1.." + (current - 1) + " can be withdrawn, got " + version);
    }
    Set<Integer> r = new TreeSet<>(withdrawn);
    r.add(version);
    return new KeyVersionPolicy(current, minimum, r);
  }

  /** Withdraws every version below {@code newMinimum}; the minimum never goes down. */
  public KeyVersionPolicy withMinimum(int newMinimum) {
    if (newMinimum < minimum) {
      throw new IllegalArgumentException(
          "minimum cannot decrease (" + minimum + " -> " + newMinimum + ")");
    }
    return new KeyVersionPolicy(current, newMinimum, withdrawn);
  }
}
