package org.teekms.custody;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.agreement.ECDHBasicAgreement;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.modes.GCMBlockCipher;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;
import org.teekms.keys.InsecureSecretAccess;

/**
 * A share encrypted to one P-256 key (ECIES, docs/root-custody.md §4): an ephemeral P-256 key e, Z
 * = x(e·R) by ECDH, K = HKDF-SHA256(IKM = Z, salt = "teekms-custody-share-v1", info = E ‖ R, 32
 * bytes), then AES-256-GCM with a 12-byte random nonce over the 34-byte share encoding, with the
 * {@link EnvelopeContext} as associated data.
 *
 * <p>Encoding: {@code 0x01 ‖ E (65, uncompressed) ‖ nonce (12) ‖ ciphertext (34) ‖ tag (16)}: 128
 * bytes. Its SHA-256 is the digest published on chain.
 */
public final class ShareEnvelope {
  public static final int ENCODED_LENGTH = 128;
  static final byte VERSION = 1;
  private static final byte[] HKDF_SALT =
      "teekms-custody-share-v1".getBytes(StandardCharsets.US_ASCII);
  private static final ECDomainParameters P256 = new ECDomainParameters(Group.P256);

  private ShareEnvelope() {}

  /**
   * Seals {@code share} to {@code recipient} under {@code context}; the share's index must be the
   * context's. The ephemeral scalar (32 bytes, rejection-sampled below n) and then the nonce (12
   * bytes) are read from {@code random} in that order.
   */
  public static byte[] seal(
      RecipientKey recipient, EnvelopeContext context, Share share, SecureRandom random) {
    if (share.index() != context.index()) {
      throw new IllegalArgumentException(
          "share " + share.index() + " sealed under a context for index " + context.index());
    }
    BigInteger e = ephemeralScalar(random);
    byte[] ephemeral =
        new FixedPointCombMultiplier().multiply(Group.P256.getG(), e).normalize().getEncoded(false);
    byte[] nonce = new byte[12];
    random.nextBytes(nonce);
    byte[] key = deriveKey(e, recipient.point(), ephemeral, recipient.encode());
    byte[] plain = share.encode(InsecureSecretAccess.get());
    try {
      GCMBlockCipher gcm = gcm(true, key, nonce, context.aad(recipient.id(), ephemeral));
      byte[] out = new byte[ENCODED_LENGTH];
      out[0] = VERSION;
      System.arraycopy(ephemeral, 0, out, 1, 65);
      System.arraycopy(nonce, 0, out, 66, 12);
      int n = gcm.processBytes(plain, 0, plain.length, out, 78);
      gcm.doFinal(out, 78 + n);
      return out;
    } catch (InvalidCipherTextException impossible) {
      throw new IllegalStateException("AES-GCM encryption failed", impossible);
    } finally {
      Arrays.fill(key, (byte) 0);
      Arrays.fill(plain, (byte) 0);
    }
  }

  /**
   * Opens an envelope with the recipient's key. Checks, in order: length and version (MALFORMED),
   * the ephemeral key is a P-256 point (MALFORMED), the tag under this context and recipient
   * (ENVELOPE_REJECTED), the plaintext is a share encoding (MALFORMED) whose index is the context's
   * (ENVELOPE_REJECTED). Every failure names the context's index.
   */
  public static Share open(RecipientKeyPair recipient, EnvelopeContext context, byte[] envelope)
      throws CustodyException {
    int index = context.index();
    if (envelope == null || envelope.length != ENCODED_LENGTH) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "share envelope "
              + index
              + " must be "
              + ENCODED_LENGTH
              + " bytes, got "
              + (envelope == null ? 0 : envelope.length),
          java.util.List.of(index));
    }
    if (envelope[0] != VERSION) {
      throw new CustodyException(
          CustodyException.Reason.MALFORMED,
          "share envelope "
              + index
              + " has version "
              + (envelope[0] & 0xff)
              + ", expected "
              + VERSION,
          java.util.List.of(index));
    }
    byte[] ephemeral = Arrays.copyOfRange(envelope, 1, 66);
    ECPoint ePoint;
    try {
      ePoint =
          Group.decodeUncompressed(
              Group.P256, ephemeral, "share envelope " + index + " ephemeral key");
    } catch (CustodyException e) {
      throw new CustodyException(e.reason(), e.getMessage(), java.util.List.of(index));
    }
    byte[] nonce = Arrays.copyOfRange(envelope, 66, 78);
    byte[] key = deriveKey(recipient.scalar(), ePoint, ephemeral, recipient.publicKey().encode());
    byte[] plain = new byte[Share.ENCODED_LENGTH];
    try {
      GCMBlockCipher gcm =
          gcm(false, key, nonce, context.aad(recipient.publicKey().id(), ephemeral));
      int n = gcm.processBytes(envelope, 78, ENCODED_LENGTH - 78, plain, 0);
      gcm.doFinal(plain, n);
      Share share;
      try {
        share = Share.decode(plain, InsecureSecretAccess.get());
      } catch (CustodyException e) {
        throw new CustodyException(
            CustodyException.Reason.MALFORMED,
            "share envelope " + index + " holds no valid share: " + e.getMessage(),
            java.util.List.of(index));
      }
      if (share.index() != index) {
        share.destroy();
        throw new CustodyException(
            CustodyException.Reason.ENVELOPE_REJECTED,
            "share envelope " + index + " holds share " + share.index(),
            java.util.List.of(index));
      }
      return share;
    } catch (InvalidCipherTextException e) {
      throw new CustodyException(
          CustodyException.Reason.ENVELOPE_REJECTED,
          "share envelope "
              + index
              + " does not authenticate for this recipient, generation, index and request",
          java.util.List.of(index));
    } finally {
      Arrays.fill(key, (byte) 0);
      Arrays.fill(plain, (byte) 0);
    }
  }

  /** SHA-256 of an envelope: the digest published on chain. */
  public static byte[] digest(byte[] envelope) {
    return Group.sha256(envelope);
  }

  private static BigInteger ephemeralScalar(SecureRandom random) {
    byte[] b = new byte[32];
    try {
      while (true) {
        random.nextBytes(b);
        BigInteger k = new BigInteger(1, b);
        if (k.signum() > 0 && k.compareTo(Group.P256.getN()) < 0) return k;
      }
    } finally {
      Arrays.fill(b, (byte) 0);
    }
  }

  private static byte[] deriveKey(
      BigInteger privateScalar, ECPoint peer, byte[] ephemeral, byte[] recipient) {
    ECDHBasicAgreement agreement = new ECDHBasicAgreement();
    agreement.init(new ECPrivateKeyParameters(privateScalar, P256));
    byte[] z = Group.to32(agreement.calculateAgreement(new ECPublicKeyParameters(peer, P256)));
    byte[] info = new byte[130];
    System.arraycopy(ephemeral, 0, info, 0, 65);
    System.arraycopy(recipient, 0, info, 65, 65);
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    hkdf.init(new HKDFParameters(z, HKDF_SALT, info));
    byte[] key = new byte[32];
    hkdf.generateBytes(key, 0, 32);
    Arrays.fill(z, (byte) 0);
    return key;
  }

  private static GCMBlockCipher gcm(boolean encrypt, byte[] key, byte[] nonce, byte[] aad) {
    GCMBlockCipher gcm = (GCMBlockCipher) GCMBlockCipher.newInstance(AESEngine.newInstance());
    gcm.init(encrypt, new AEADParameters(new KeyParameter(key), 128, nonce, aad));
    return gcm;
  }
}
