package org.teekms.kms.seal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import javax.security.auth.Destroyable;
import org.teekms.crypto.Digests;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

/**
 * The KMS's sealing key (AES-256): seals and unseals secrets at rest with AES-GCM. The key bytes
 * never leave this object; {@link #keyId()} names the key (a hash, safe to store and log) so a row
 * sealed under another key is reported as such instead of as corruption.
 *
 * <p>Sealed form: 12-byte random nonce ‖ ciphertext ‖ 16-byte tag.
 */
public final class SealingKey implements Destroyable {

  public static final int KEY_LENGTH = 32;
  public static final int NONCE_LENGTH = 12;
  public static final int TAG_LENGTH = 16;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretBytes key;
  private final String keyId;

  /** Copies {@code key}; the caller should zero its own copy. */
  public SealingKey(byte[] key) {
    if (key == null || key.length != KEY_LENGTH) {
      throw new IllegalArgumentException("sealing key must be 32 bytes");
    }
    this.key = SecretBytes.copyOf(key, InsecureSecretAccess.get());
    this.keyId = computeKeyId(key);
  }

  /**
   * First 8 bytes of SHA-256("tee-kms/sealing-key-id/v1" ‖ key), hex. Identifies, does not reveal.
   */
  public String keyId() {
    return keyId;
  }

  public byte[] seal(byte[] plaintext, byte[] aad) {
    byte[] nonce = new byte[NONCE_LENGTH];
    RANDOM.nextBytes(nonce);
    try {
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(Cipher.ENCRYPT_MODE, aesKey(), new GCMParameterSpec(TAG_LENGTH * 8, nonce));
      gcm.updateAAD(aad);
      byte[] ct = gcm.doFinal(plaintext);
      return ByteBuffer.allocate(NONCE_LENGTH + ct.length).put(nonce).put(ct).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM sealing failed", e);
    }
  }

  /**
   * Unseals; throws {@link SealingException} if the blob was altered, sealed under another key or
   * another AAD.
   */
  public byte[] unseal(byte[] sealed, byte[] aad) {
    if (sealed == null || sealed.length < NONCE_LENGTH + TAG_LENGTH) {
      throw new SealingException(
          "sealed blob too short: " + (sealed == null ? 0 : sealed.length) + " bytes");
    }
    try {
      Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
      gcm.init(
          Cipher.DECRYPT_MODE,
          aesKey(),
          new GCMParameterSpec(TAG_LENGTH * 8, sealed, 0, NONCE_LENGTH));
      gcm.updateAAD(aad);
      return gcm.doFinal(sealed, NONCE_LENGTH, sealed.length - NONCE_LENGTH);
    } catch (AEADBadTagException e) {
      throw new SealingException(
          "sealed blob does not authenticate (altered, or bound to another KMS id/generation)");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unsealing failed", e);
    }
  }

  @Override
  public void destroy() {
    key.destroy();
  }

  @Override
  public boolean isDestroyed() {
    return key.isDestroyed();
  }

  @Override
  public String toString() {
    return "SealingKey[id=" + keyId + (key.isDestroyed() ? ", destroyed" : "") + "]";
  }

  /** A JCE key for one operation (throws once destroyed); the temporary copy is zeroed here. */
  private SecretKeySpec aesKey() {
    if (key.isDestroyed()) {
      throw new IllegalStateException("sealing key was destroyed");
    }
    byte[] raw = key.toByteArray(InsecureSecretAccess.get());
    try {
      return new SecretKeySpec(raw, "AES");
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
  }

  private static String computeKeyId(byte[] key) {
    byte[] digest =
        Digests.sha256("tee-kms/sealing-key-id/v1".getBytes(StandardCharsets.US_ASCII), key);
    return HexFormat.of().formatHex(Arrays.copyOf(digest, 8));
  }
}
