package org.teekms.kms.seal;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.Blake2bDigest;
import org.bouncycastle.crypto.engines.Salsa20Engine;
import org.bouncycastle.crypto.engines.XSalsa20Engine;
import org.bouncycastle.crypto.macs.Poly1305;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.crypto.params.ParametersWithIV;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.X25519PublicKeyParameters;
import org.bouncycastle.util.Pack;

/**
 * libsodium's anonymous "sealed box" ({@code crypto_box_seal}), the envelope in which dstack's
 * local key provider returns the sealing key (docs/sealing.md): {@code epk[32] ‖ tag[16] ‖ ct},
 * where {@code k = HSalsa20(X25519(esk, pk), 0^16)}, {@code nonce = BLAKE2b-192(epk ‖ pk)} and
 * {@code tag ‖ ct = crypto_secretbox(k, nonce, m)} (XSalsa20-Poly1305: the first 32 keystream bytes
 * are the one-time Poly1305 key). Built from BouncyCastle's X25519, Salsa20 core, XSalsa20,
 * Poly1305 and BLAKE2b.
 */
public final class SodiumSealedBox {

  public static final int PUBLIC_KEY_LENGTH = 32;
  public static final int TAG_LENGTH = 16;
  public static final int OVERHEAD = PUBLIC_KEY_LENGTH + TAG_LENGTH;

  private SodiumSealedBox() {}

  /** A fresh X25519 key pair (the guest's ephemeral recipient key). */
  public static X25519PrivateKeyParameters newRecipientKey(SecureRandom random) {
    return new X25519PrivateKeyParameters(random);
  }

  /**
   * Seals {@code message} to {@code recipient} (the provider's side; used by tests and the test
   * vector).
   */
  public static byte[] seal(
      byte[] message, byte[] recipient, X25519PrivateKeyParameters ephemeral) {
    byte[] epk = ephemeral.generatePublicKey().getEncoded();
    byte[] key = boxKey(ephemeral, recipient);
    try {
      byte[] sealed = new byte[OVERHEAD + message.length];
      System.arraycopy(epk, 0, sealed, 0, PUBLIC_KEY_LENGTH);
      byte[] body = secretbox(key, nonce(epk, recipient), message, true);
      System.arraycopy(body, 0, sealed, PUBLIC_KEY_LENGTH, body.length);
      return sealed;
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  /**
   * Opens a sealed box addressed to {@code recipient}. Throws {@link SealingException} when it is
   * too short, the ephemeral key is degenerate, or the tag does not verify (sealed to another key,
   * or altered).
   */
  public static byte[] open(byte[] sealed, X25519PrivateKeyParameters recipient) {
    if (sealed == null || sealed.length < OVERHEAD) {
      throw new SealingException(
          "sealed box is "
              + (sealed == null ? 0 : sealed.length)
              + " bytes, shorter than its "
              + OVERHEAD
              + "-byte overhead");
    }
    byte[] epk = Arrays.copyOf(sealed, PUBLIC_KEY_LENGTH);
    byte[] pk = recipient.generatePublicKey().getEncoded();
    byte[] key = boxKey(recipient, epk);
    try {
      return secretbox(
          key, nonce(epk, pk), Arrays.copyOfRange(sealed, PUBLIC_KEY_LENGTH, sealed.length), false);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  /**
   * crypto_box_beforenm: HSalsa20(X25519(sk, pk), 0^16); refuses an all-zero shared secret
   * (low-order point).
   */
  private static byte[] boxKey(X25519PrivateKeyParameters sk, byte[] pk) {
    byte[] shared = new byte[32];
    try {
      sk.generateSecret(new X25519PublicKeyParameters(pk, 0), shared, 0);
    } catch (IllegalStateException lowOrder) {
      throw new SealingException(
          "sealed box: X25519 shared secret is all zero (low-order public key)");
    }
    try {
      return hsalsa20(shared, new byte[16]);
    } finally {
      Arrays.fill(shared, (byte) 0);
    }
  }

  /** HSalsa20: the Salsa20 core without its final addition, words 0, 5, 10, 15, 6, 7, 8, 9. */
  static byte[] hsalsa20(byte[] key, byte[] in16) {
    int[] state = new int[16];
    state[0] = 0x61707865;
    state[5] = 0x3320646e;
    state[10] = 0x79622d32;
    state[15] = 0x6b206574;
    for (int i = 0; i < 4; i++) {
      state[1 + i] = Pack.littleEndianToInt(key, 4 * i);
      state[11 + i] = Pack.littleEndianToInt(key, 16 + 4 * i);
      state[6 + i] = Pack.littleEndianToInt(in16, 4 * i);
    }
    int[] x = new int[16];
    Salsa20Engine.salsaCore(20, state, x); // x = rounds(state) + state
    int[] words = {0, 5, 10, 15, 6, 7, 8, 9};
    byte[] out = new byte[32];
    for (int i = 0; i < 8; i++) {
      Pack.intToLittleEndian(x[words[i]] - state[words[i]], out, 4 * i);
    }
    Arrays.fill(state, 0);
    Arrays.fill(x, 0);
    return out;
  }

  private static byte[] nonce(byte[] epk, byte[] pk) {
    Blake2bDigest blake = new Blake2bDigest(192);
    blake.update(epk, 0, epk.length);
    blake.update(pk, 0, pk.length);
    byte[] n = new byte[24];
    blake.doFinal(n, 0);
    return n;
  }

  /** crypto_secretbox (seal: m → tag ‖ ct) and crypto_secretbox_open (tag ‖ ct → m). */
  private static byte[] secretbox(byte[] key, byte[] nonce, byte[] in, boolean seal) {
    XSalsa20Engine stream = new XSalsa20Engine();
    stream.init(true, new ParametersWithIV(new KeyParameter(key), nonce));
    byte[] polyKey = new byte[32];
    stream.processBytes(new byte[32], 0, 32, polyKey, 0);
    try {
      if (seal) {
        byte[] ct = new byte[in.length];
        stream.processBytes(in, 0, in.length, ct, 0);
        byte[] out = new byte[TAG_LENGTH + ct.length];
        System.arraycopy(poly1305(polyKey, ct), 0, out, 0, TAG_LENGTH);
        System.arraycopy(ct, 0, out, TAG_LENGTH, ct.length);
        return out;
      }
      byte[] ct = Arrays.copyOfRange(in, TAG_LENGTH, in.length);
      if (!MessageDigest.isEqual(poly1305(polyKey, ct), Arrays.copyOf(in, TAG_LENGTH))) {
        throw new SealingException(
            "sealed box does not authenticate (sealed to another key, or altered)");
      }
      byte[] m = new byte[ct.length];
      stream.processBytes(ct, 0, ct.length, m, 0);
      return m;
    } finally {
      Arrays.fill(polyKey, (byte) 0);
    }
  }

  private static byte[] poly1305(byte[] key, byte[] data) {
    Poly1305 mac = new Poly1305();
    mac.init(new KeyParameter(key));
    mac.update(data, 0, data.length);
    byte[] tag = new byte[TAG_LENGTH];
    mac.doFinal(tag, 0);
    return tag;
  }
}
