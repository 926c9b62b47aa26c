package org.teekms.custody;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.teekms.keys.InsecureSecretAccess;

/**
 * A custodian's signature over one released share sent to a recovering node (docs/root-custody.md
 * §6.4): the node accepts a share only from the key the on-chain backup names as the custodian of
 * that index, so an unregistered sender cannot fill the node's slots with shares it then reports as
 * bad.
 *
 * <pre>
 * message   = "teekms-custody-submit-v1" ‖ u32be generation ‖ u8 index ‖ requestId (32) ‖ nodeKeyId (32)
 *               ‖ SHA-256(envelope) (32)
 * signature = ECDSA P-256 over SHA-256(message), deterministic k (RFC 6979, HMAC-SHA256), r ‖ s (32 bytes each)
 * </pre>
 *
 * Verification accepts any r, s in [1, n'−1] (BouncyCastle's {@code ECDSASigner}); there is no
 * curve code here.
 */
public final class ShareSubmission {

  static final byte[] DOMAIN = "teekms-custody-submit-v1".getBytes(StandardCharsets.US_ASCII);
  public static final int SIGNATURE_LENGTH = 64;
  private static final ECDomainParameters P256 =
      new ECDomainParameters(
          Group.P256.getCurve(), Group.P256.getG(), Group.P256.getN(), Group.P256.getH());

  private ShareSubmission() {}

  /**
   * The signed message; {@code requestId} and {@code nodeKeyId} are 32 bytes each, index 1..255.
   */
  public static byte[] message(
      long generation, int index, byte[] requestId, byte[] nodeKeyId, byte[] envelope) {
    if (generation < 1 || generation > 0xffffffffL)
      throw new IllegalArgumentException("generation out of range");
    if (index < 1 || index > Share.MAX_INDEX)
      throw new IllegalArgumentException("share index out of range");
    if (requestId.length != 32 || nodeKeyId.length != 32) {
      throw new IllegalArgumentException("request id and node key id are 32 bytes");
    }
    return ByteBuffer.allocate(DOMAIN.length + 4 + 1 + 32 * 3)
        .put(DOMAIN)
        .putInt((int) generation)
        .put((byte) index)
        .put(requestId)
        .put(nodeKeyId)
        .put(Group.sha256(envelope))
        .array();
  }

  /** The custodian's signature (64 bytes, r ‖ s) over {@link #message}. */
  public static byte[] sign(RecipientKeyPair custodian, byte[] message) {
    byte[] d = custodian.encodePrivate(InsecureSecretAccess.get());
    try {
      ECDSASigner signer = new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest()));
      signer.init(true, new ECPrivateKeyParameters(new BigInteger(1, d), P256));
      BigInteger[] rs = signer.generateSignature(Group.sha256(message));
      byte[] out = new byte[SIGNATURE_LENGTH];
      System.arraycopy(Group.to32(rs[0]), 0, out, 0, 32);
      System.arraycopy(Group.to32(rs[1]), 0, out, 32, 32);
      return out;
    } finally {
      Arrays.fill(d, (byte) 0);
    }
  }

  /**
   * Whether {@code signature} can be a submission signature at all: 64 bytes, r ‖ s, each in [1,
   * n−1]. Needs no key, so a receiver checks it before anything costly.
   */
  public static boolean wellFormed(byte[] signature) {
    if (signature == null || signature.length != SIGNATURE_LENGTH) return false;
    BigInteger r = new BigInteger(1, Arrays.copyOfRange(signature, 0, 32));
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(signature, 32, 64));
    return r.signum() != 0
        && s.signum() != 0
        && r.compareTo(P256.getN()) < 0
        && s.compareTo(P256.getN()) < 0;
  }

  /**
   * Whether {@code signature} is {@code key}'s over {@code message}; false for any malformed
   * signature.
   */
  public static boolean verify(RecipientKey key, byte[] message, byte[] signature) {
    if (!wellFormed(signature)) return false;
    BigInteger r = new BigInteger(1, Arrays.copyOfRange(signature, 0, 32));
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(signature, 32, 64));
    try {
      ECDSASigner verifier = new ECDSASigner();
      verifier.init(
          false, new ECPublicKeyParameters(P256.getCurve().decodePoint(key.encode()), P256));
      return verifier.verifySignature(Group.sha256(message), r, s);
    } catch (RuntimeException e) {
      return false;
    }
  }
}
