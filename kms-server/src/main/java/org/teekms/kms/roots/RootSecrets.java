package org.teekms.kms.roots;

import java.security.SecureRandom;
import org.teekms.custody.Shamir;

/**
 * Draws new root secrets: 32 bytes from the TEE's RNG, drawn again in the (probability below
 * 2^-127) case that they are not a scalar in [1, n − 1] of secp256k1, so that every root generation
 * can be backed up by threshold custody (docs/root-custody.md §2). The distribution stays uniform
 * over the accepted values.
 */
public final class RootSecrets {

  private RootSecrets() {}

  /** A new root secret; the caller zeroizes it. */
  public static byte[] draw(SecureRandom random) {
    byte[] secret = new byte[RootSealing.ROOT_SECRET_LENGTH];
    do {
      random.nextBytes(secret);
    } while (!Shamir.isShareable(secret));
    return secret;
  }
}
