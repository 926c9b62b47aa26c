package org.teekms.keys;

import java.util.Objects;

/**
 * One key version of one app, on the root generation it is pinned to: the three coordinates every
 * app-tier key is derived under (docs/key-derivation.md §3). One value instead of two adjacent
 * {@code int}s that callers could swap.
 *
 * @param generation the root generation (at least 1)
 * @param app the app
 * @param version the app's key version (at least 1)
 */
public record VersionRef(int generation, AppId app, int version) {
  public VersionRef {
    if (generation < 1) {
      throw new IllegalArgumentException("generation must be >= 1, got " + generation);
    }
    Objects.requireNonNull(app, "appId");
    if (version < 1) {
      throw new IllegalArgumentException("version must be >= 1, got " + version);
    }
  }

  @Override
  public String toString() {
    return "app 0x" + app.toHex() + " version " + version + " (generation " + generation + ")";
  }
}
