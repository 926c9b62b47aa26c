package org.teekms.keys;

import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/** An Ed25519 private key (the 32-byte RFC 8032 seed): pure Ed25519 signatures. */
public final class Ed25519SigningKey extends SecretKeyHolder implements SigningKey {
  Ed25519SigningKey(SecretBytes seed, byte[] publicKey) {
    super(seed, publicKey);
  }

  @Override
  public KeyAlgorithm algorithm() {
    return KeyAlgorithm.ED25519;
  }

  /** RFC 8032 Ed25519 of {@code message} (64 bytes). */
  @Override
  public byte[] sign(byte[] message) {
    Ed25519Signer s = new Ed25519Signer();
    s.init(true, new Ed25519PrivateKeyParameters(secret.internal(), 0));
    s.update(message, 0, message.length);
    return s.generateSignature();
  }

  /** Checks a {@link #sign} signature; false for any malformed input. */
  public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
    if (publicKey == null
        || message == null
        || signature == null
        || publicKey.length != 32
        || signature.length != 64) {
      return false;
    }
    try {
      Ed25519Signer v = new Ed25519Signer();
      v.init(false, new Ed25519PublicKeyParameters(publicKey, 0));
      v.update(message, 0, message.length);
      return v.verifySignature(signature);
    } catch (RuntimeException malformed) {
      return false;
    }
  }
}
