package org.teekms.kms.keystate;

import java.util.List;
import java.util.Optional;
import org.teekms.keys.AppId;

/**
 * An app's key versions as this KMS holds them: versions {@code minVersion..currentVersion} are
 * served, each derived from the root generation it was pinned to when created.
 */
public record AppKeyState(
    AppId appId,
    int currentVersion,
    int minVersion,
    long lastRotatedAt,
    List<KeyVersion> versions) {

  /** One key version and the root generation it is pinned to. */
  public record KeyVersion(int version, int rootGeneration) {
    /** This version of {@code app}, as derivation names it. */
    public org.teekms.keys.VersionRef of(AppId app) {
      return new org.teekms.keys.VersionRef(rootGeneration, app, version);
    }
  }

  public AppKeyState {
    java.util.Objects.requireNonNull(appId, "appId");
    versions = List.copyOf(versions);
  }

  /** The versions served now, ascending. */
  public List<KeyVersion> servedVersions() {
    return versions.stream()
        .filter(v -> v.version() >= minVersion && v.version() <= currentVersion)
        .toList();
  }

  public Optional<KeyVersion> version(int version) {
    return versions.stream().filter(v -> v.version() == version).findFirst();
  }
}
