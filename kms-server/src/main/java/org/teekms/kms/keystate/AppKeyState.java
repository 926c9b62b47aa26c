package org.teekms.kms.keystate;

import java.util.List;
import java.util.Optional;

/**
 * An app's key versions as this KMS holds them: versions {@code minVersion..currentVersion} are served, each derived
 * from the root generation it was pinned to when created.
 */
public record AppKeyState(byte[] appId, int currentVersion, int minVersion, long lastRotatedAt, List<KeyVersion> versions) {

  public record KeyVersion(int version, int rootGeneration) {}

  public AppKeyState {
    appId = appId.clone();
    versions = List.copyOf(versions);
  }

  @Override
  public byte[] appId() {
    return appId.clone();
  }

  /** The versions served now, ascending. */
  public List<KeyVersion> servedVersions() {
    return versions.stream().filter(v -> v.version() >= minVersion && v.version() <= currentVersion).toList();
  }

  public Optional<KeyVersion> version(int version) {
    return versions.stream().filter(v -> v.version() == version).findFirst();
  }
}
