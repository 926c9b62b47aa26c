package org.teekms.crypto;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-1/-256/-384/-512 of byte strings, without checked exceptions: every JDK must provide these
 * algorithms, so their absence is a broken runtime ({@link IllegalStateException}), never an input
 * error.
 */
public final class Digests {
  private Digests() {}

  /** SHA-256 of the concatenation of {@code parts}. */
  public static byte[] sha256(byte[]... parts) {
    return digest("SHA-256", parts);
  }

  /** SHA-384 of the concatenation of {@code parts}. */
  public static byte[] sha384(byte[]... parts) {
    return digest("SHA-384", parts);
  }

  /** SHA-512 of the concatenation of {@code parts}. */
  public static byte[] sha512(byte[]... parts) {
    return digest("SHA-512", parts);
  }

  /** SHA-1, only where a format prescribes it (RFC 5280 key identifiers). */
  public static byte[] sha1(byte[] data) {
    return digest("SHA-1", data);
  }

  /** Lowercase hex of SHA-256 of {@code data}. */
  public static String sha256Hex(byte[] data) {
    return HexFormat.of().formatHex(sha256(data));
  }

  /** A fresh SHA-256 instance, for input fed in pieces. */
  public static MessageDigest newSha256() {
    return newDigest("SHA-256");
  }

  /** A fresh instance of a JDK-mandated algorithm ("SHA-1", "SHA-256", "SHA-384", "SHA-512"). */
  public static MessageDigest newDigest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks " + algorithm, e);
    }
  }

  private static byte[] digest(String algorithm, byte[]... parts) {
    MessageDigest md = newDigest(algorithm);
    for (byte[] p : parts) {
      md.update(p);
    }
    return md.digest();
  }
}
