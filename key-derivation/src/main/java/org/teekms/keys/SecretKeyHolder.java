package org.teekms.keys;

/**
 * The secret and public key of one signer, and the destroy/print rules every {@link SigningKey}
 * shares.
 */
abstract class SecretKeyHolder {
  final SecretBytes secret;
  final byte[] publicKey;

  SecretKeyHolder(SecretBytes secret, byte[] publicKey) {
    this.secret = secret;
    this.publicKey = publicKey;
  }

  public byte[] publicKey() {
    return publicKey.clone();
  }

  public void destroy() {
    secret.destroy();
  }

  public boolean isDestroyed() {
    return secret.isDestroyed();
  }

  @Override
  public String toString() {
    return getClass().getSimpleName()
        + "["
        + Hex.encode(publicKey)
        + ", private="
        + (isDestroyed() ? "destroyed" : "redacted")
        + "]";
  }
}
