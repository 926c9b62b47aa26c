package org.teekms.agent.env;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.teekms.agent.env.EnvSecretException.Reason;

/**
 * dstack's encrypted-environment blob (docs/env-secrets.md §2): {@code ephemeral_public_key[32] ‖
 * iv[12] ‖ AES-256-GCM(key = X25519(ephemeral, recipient), iv, plaintext, no AAD) ‖ tag[16]}. The
 * X25519 output is the AES key as is (no KDF), exactly as dstack's SDK and guest; an all-zero
 * shared secret (a low-order ephemeral key) is refused.
 */
public final class EnvBlob {
  public static final int KEY_BYTES = 32;
  public static final int IV_BYTES = 12;
  public static final int TAG_BYTES = 16;
  public static final int MIN_BYTES = KEY_BYTES + IV_BYTES + TAG_BYTES;

  /** dstack's guest copies at most 256 KiB of {@code .encrypted-env}; we accept the same. */
  public static final int MAX_BYTES = 256 * 1024;

  private EnvBlob() {}

  /**
   * The X25519 public key of a 32-byte private key (RFC 7748; the scalar is clamped as the RFC
   * says).
   */
  public static byte[] publicKey(byte[] privateKey) {
    if (privateKey.length != KEY_BYTES) {
      throw new IllegalArgumentException("X25519 private key must be 32 bytes");
    }
    byte[] pub = new byte[KEY_BYTES];
    X25519.scalarMultBase(privateKey, 0, pub, 0);
    return pub;
  }

  /**
   * Encrypts {@code plaintext} to {@code recipient} with a fresh ephemeral key and IV from {@code
   * random}.
   */
  public static byte[] encrypt(byte[] plaintext, byte[] recipient, SecureRandom random) {
    byte[] ephemeral = new byte[KEY_BYTES];
    byte[] iv = new byte[IV_BYTES];
    random.nextBytes(ephemeral);
    random.nextBytes(iv);
    try {
      return encrypt(plaintext, recipient, ephemeral, iv);
    } finally {
      Arrays.fill(ephemeral, (byte) 0);
    }
  }

  /** Deterministic form (test vectors): the caller supplies the ephemeral private key and IV. */
  public static byte[] encrypt(
      byte[] plaintext, byte[] recipient, byte[] ephemeralPrivate, byte[] iv) {
    if (recipient.length != KEY_BYTES) {
      throw new IllegalArgumentException(
          "the recipient X25519 public key must be 32 bytes, got " + recipient.length);
    }
    if (iv.length != IV_BYTES) {
      throw new IllegalArgumentException("IV must be 12 bytes");
    }
    byte[] shared = new byte[KEY_BYTES];
    try {
      if (!X25519.calculateAgreement(ephemeralPrivate, 0, recipient, 0, shared, 0)) {
        throw new IllegalArgumentException(
            "the recipient public key is a low-order point (shared secret is zero)");
      }
      Cipher aes = Cipher.getInstance("AES/GCM/NoPadding");
      aes.init(
          Cipher.ENCRYPT_MODE,
          new SecretKeySpec(shared, "AES"),
          new GCMParameterSpec(TAG_BYTES * 8, iv));
      byte[] sealed = aes.doFinal(plaintext);
      byte[] out = new byte[KEY_BYTES + IV_BYTES + sealed.length];
      System.arraycopy(publicKey(ephemeralPrivate), 0, out, 0, KEY_BYTES);
      System.arraycopy(iv, 0, out, KEY_BYTES, IV_BYTES);
      System.arraycopy(sealed, 0, out, KEY_BYTES + IV_BYTES, sealed.length);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable", e);
    } finally {
      Arrays.fill(shared, (byte) 0);
    }
  }

  private static final java.math.BigInteger P =
      java.math.BigInteger.TWO.pow(255).subtract(java.math.BigInteger.valueOf(19));

  /**
   * Checks the blob's length and that its ephemeral key is canonical (little-endian u &lt; 2^255 −
   * 19, so the top bit is clear): X25519 ignores that bit, so without this check a blob could be
   * altered there and still open. Every conforming encoder (the SDK's, ours) writes canonical keys.
   */
  public static void checkShape(byte[] blob) throws EnvSecretException {
    if (blob.length < MIN_BYTES) {
      throw new EnvSecretException(
          Reason.ENV_BLOB_MALFORMED,
          "encrypted environment is "
              + blob.length
              + " bytes, shorter than ephemeral key + IV + tag ("
              + MIN_BYTES
              + ")");
    }
    if (blob.length > MAX_BYTES) {
      throw new EnvSecretException(
          Reason.ENV_BLOB_MALFORMED,
          "encrypted environment is " + blob.length + " bytes (at most " + MAX_BYTES + ")");
    }
    byte[] be = new byte[KEY_BYTES];
    for (int i = 0; i < KEY_BYTES; i++) {
      be[i] = blob[KEY_BYTES - 1 - i];
    }
    if (new java.math.BigInteger(1, be).compareTo(P) >= 0) {
      throw new EnvSecretException(
          Reason.ENV_BLOB_MALFORMED,
          "the blob's ephemeral X25519 public key is not "
              + "canonically encoded (u >= 2^255 - 19)");
    }
  }

  /**
   * Opens the blob with one X25519 private key; empty result when that key does not open it (wrong
   * key, altered bytes or tag, low-order ephemeral key): the caller tries its other keys, then
   * fails.
   */
  public static java.util.Optional<byte[]> open(byte[] blob, byte[] privateKey)
      throws EnvSecretException {
    checkShape(blob);
    if (privateKey.length != KEY_BYTES) {
      throw new IllegalArgumentException("X25519 private key must be 32 bytes");
    }
    byte[] shared = new byte[KEY_BYTES];
    try {
      if (!X25519.calculateAgreement(privateKey, 0, blob, 0, shared, 0)) {
        return java.util.Optional.empty();
      }
      Cipher aes = Cipher.getInstance("AES/GCM/NoPadding");
      aes.init(
          Cipher.DECRYPT_MODE,
          new SecretKeySpec(shared, "AES"),
          new GCMParameterSpec(TAG_BYTES * 8, blob, KEY_BYTES, IV_BYTES));
      return java.util.Optional.of(
          aes.doFinal(blob, KEY_BYTES + IV_BYTES, blob.length - KEY_BYTES - IV_BYTES));
    } catch (AEADBadTagException e) {
      return java.util.Optional.empty();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable", e);
    } finally {
      Arrays.fill(shared, (byte) 0);
    }
  }
}
