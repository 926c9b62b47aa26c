package org.teekms.keys;

import java.nio.charset.StandardCharsets;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/** HKDF-SHA256 (RFC 5869), and the tee-kms/v1 use of it (fixed salt, context as info). */
public final class Hkdf {
  /** The HKDF-Extract salt of tee-kms/v1. */
  static final byte[] SALT = KeyRequest.DOMAIN_LABEL.getBytes(StandardCharsets.US_ASCII);

  private Hkdf() {}

  /** Plain RFC 5869 HKDF-SHA256 ({@code salt} may be empty, meaning HashLen zeros). */
  public static byte[] sha256(byte[] ikm, byte[] salt, byte[] info, int length) {
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    hkdf.init(new HKDFParameters(ikm, salt, info));
    byte[] out = new byte[length];
    hkdf.generateBytes(out, 0, length);
    return out;
  }

  /** OKM for one key: HKDF-SHA256(salt = "tee-kms/v1", IKM = secret, info = request context, L). */
  static byte[] okm(SecretBytes ikm, KeyRequest request) {
    return sha256(ikm.internal(), SALT, request.context(), request.algorithm().okmLength());
  }
}
