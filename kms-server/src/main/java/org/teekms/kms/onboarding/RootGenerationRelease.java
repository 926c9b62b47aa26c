package org.teekms.kms.onboarding;

import javax.security.auth.Destroyable;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;
import org.teekms.kms.roots.RootState;

/**
 * One root generation as handed to (or received from) a replica. Secret: destroy after use; never
 * printed.
 */
public final class RootGenerationRelease implements Destroyable {

  private final int generation;
  private final RootState state;
  private final SecretBytes secret;
  private final long createdAt;
  private final long destroyAfter;

  public RootGenerationRelease(int generation, RootState state, byte[] secret, long createdAt) {
    this(generation, state, secret, createdAt, 0);
  }

  /**
   * @param destroyAfter RETIRED: epoch ms at which the source destroys the generation; 0 = none
   *     (CURRENT)
   */
  public RootGenerationRelease(
      int generation, RootState state, byte[] secret, long createdAt, long destroyAfter) {
    if (generation < 1 || (state != RootState.CURRENT && state != RootState.RETIRED)) {
      throw new IllegalArgumentException(
          "only CURRENT or RETIRED generations (>= 1) travel, got " + generation + "/" + state);
    }
    if (secret == null || secret.length != 32) {
      throw new IllegalArgumentException("a root secret is 32 bytes");
    }
    this.generation = generation;
    this.state = state;
    this.secret = SecretBytes.copyOf(secret, InsecureSecretAccess.get());
    this.createdAt = createdAt;
    this.destroyAfter = destroyAfter;
  }

  public int generation() {
    return generation;
  }

  public RootState state() {
    return state;
  }

  public long createdAt() {
    return createdAt;
  }

  /** RETIRED: epoch ms at which the source destroys this generation (0 = not sent / CURRENT). */
  public long destroyAfter() {
    return destroyAfter;
  }

  /**
   * A copy of the root secret; throws {@link org.teekms.keys.DestroyedSecretException} after {@link
   * #destroy()}.
   */
  public byte[] secret() {
    return secret.toByteArray(InsecureSecretAccess.get());
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
  public String toString() {
    return "RootGenerationRelease[generation="
        + generation
        + ", state="
        + state
        + ", <secret redacted>]";
  }
}
