package org.teekms.kms.onboarding;

import java.util.Arrays;
import javax.security.auth.Destroyable;
import org.teekms.kms.roots.RootState;

/** One root generation as handed to (or received from) a replica. Secret: destroy after use; never printed. */
public final class RootGenerationRelease implements Destroyable {

  private final int generation;
  private final RootState state;
  private final byte[] secret;
  private final long createdAt;
  private boolean destroyed;

  public RootGenerationRelease(int generation, RootState state, byte[] secret, long createdAt) {
    if (generation < 1 || (state != RootState.CURRENT && state != RootState.RETIRED)) {
      throw new IllegalArgumentException("only CURRENT or RETIRED generations (>= 1) travel, got " + generation + "/" + state);
    }
    if (secret == null || secret.length != 32) {
      throw new IllegalArgumentException("a root secret is 32 bytes");
    }
    this.generation = generation;
    this.state = state;
    this.secret = secret.clone();
    this.createdAt = createdAt;
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

  public byte[] secret() {
    if (destroyed) {
      throw new IllegalStateException("destroyed");
    }
    return secret.clone();
  }

  @Override
  public void destroy() {
    Arrays.fill(secret, (byte) 0);
    destroyed = true;
  }

  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  @Override
  public String toString() {
    return "RootGenerationRelease[generation=" + generation + ", state=" + state + ", <secret redacted>]";
  }
}
