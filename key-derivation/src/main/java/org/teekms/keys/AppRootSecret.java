package org.teekms.keys;

import java.util.Objects;
import javax.security.auth.Destroyable;

/**
 * The app root secret A of one (generation, app, version): what the KMS releases to an attested CVM
 * so that its guest agent derives app-tier keys locally ({@link AppKeyDeriver}). Redacted and
 * destroyable.
 */
public final class AppRootSecret implements Destroyable, AutoCloseable {
  private final int generation;
  private final AppId appId;
  private final int version;
  private final SecretBytes secret;

  /**
   * Wraps a received app root secret (e.g. in a guest agent); takes ownership of {@code secret}.
   */
  public AppRootSecret(VersionRef ref, SecretBytes secret) {
    Objects.requireNonNull(ref, "ref");
    if (secret.length() != 32) {
      throw new IllegalArgumentException(
          "app root secret must be 32 bytes, got " + secret.length());
    }
    this.generation = ref.generation();
    this.appId = ref.app();
    this.version = ref.version();
    this.secret = secret;
  }

  /** The (generation, app, version) this secret is of. */
  public VersionRef ref() {
    return new VersionRef(generation, appId, version);
  }

  public int generation() {
    return generation;
  }

  public AppId appId() {
    return appId;
  }

  public int version() {
    return version;
  }

  /** The 32 secret bytes, for handing to the CVM over an attested channel. */
  public byte[] toByteArray(InsecureSecretAccess access) {
    return secret.toByteArray(access);
  }

  SecretBytes secret() {
    return secret;
  }

  public boolean equalsSecret(AppRootSecret other) {
    return secret.equalsSecret(other.secret);
  }

  @Override
  public void destroy() {
    secret.destroy();
  }

  @Override
  public boolean isDestroyed() {
    return secret.isDestroyed();
  }

  @Override
  public void close() {
    destroy();
  }

  @Override
  public String toString() {
    return "AppRootSecret[gen="
        + generation
        + ", app="
        + appId
        + ", v="
        + version
        + ", "
        + (isDestroyed() ? "destroyed" : "redacted")
        + "]";
  }
}
