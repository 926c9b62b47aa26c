package org.teekms.keys;

import java.math.BigInteger;
import java.util.Objects;

/**
 * An Ethereum-recoverable secp256k1 signature (r, s, v) with v in {27, 28}; encoded as 65 bytes r
 * || s || v. Construction checks only sizes; range rules (low s, r and s in [1, n-1]) are checked
 * by the verifier.
 */
public record EthSignature(BigInteger r, BigInteger s, int v) {
  public EthSignature {
    Objects.requireNonNull(r, "r");
    Objects.requireNonNull(s, "s");
    if (r.signum() < 0 || r.bitLength() > 256 || s.signum() < 0 || s.bitLength() > 256) {
      throw new IllegalArgumentException("r and s must be 256-bit unsigned integers");
    }
    if (v < 0 || v > 255) {
      throw new IllegalArgumentException("v must fit one byte, got " + v);
    }
  }

  public static EthSignature fromBytes(byte[] b) {
    if (b.length != 65) {
      throw new IllegalArgumentException(
          "signature must be 65 bytes (r || s || v), got " + b.length);
    }
    return new EthSignature(
        new BigInteger(1, java.util.Arrays.copyOfRange(b, 0, 32)),
        new BigInteger(1, java.util.Arrays.copyOfRange(b, 32, 64)),
        b[64] & 0xFF);
  }

  public static EthSignature fromHex(String hex) {
    return fromBytes(Hex.decode(hex, "signature"));
  }

  /**
   * EIP-2: s in [1, n/2]. Its high-s twin (n - s, v flipped) is another encoding of the same
   * signature.
   */
  public boolean hasLowS() {
    return s.signum() > 0 && s.compareTo(Secp256k1.HALF_N) <= 0;
  }

  public byte[] toBytes() {
    byte[] out = new byte[65];
    System.arraycopy(Curves.to32(r), 0, out, 0, 32);
    System.arraycopy(Curves.to32(s), 0, out, 32, 32);
    out[64] = (byte) v;
    return out;
  }

  public String toHex() {
    return Hex.encode(toBytes());
  }

  @Override
  public String toString() {
    return "0x" + toHex();
  }
}
