package org.teekms.keys;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.KeccakDigest;

/** A 20-byte Ethereum address; {@link #toString()} is the EIP-55 checksummed form. */
public final class EthereumAddress {
  private final byte[] bytes;

  private EthereumAddress(byte[] bytes) {
    if (bytes.length != 20) {
      throw new IllegalArgumentException("address must be 20 bytes, got " + bytes.length);
    }
    this.bytes = bytes;
  }

  public static EthereumAddress of(byte[] bytes) {
    return new EthereumAddress(bytes.clone());
  }

  /** Address of a secp256k1 public key given as SEC1 (33 or 65 bytes) or as the 64-byte X || Y. */
  public static EthereumAddress fromPublicKey(byte[] publicKey) {
    byte[] xy;
    if (publicKey.length == 64) {
      xy = publicKey;
    } else {
      byte[] uncompressed = Curves.SECP256K1.decodePoint(publicKey).getEncoded(false);
      xy = Arrays.copyOfRange(uncompressed, 1, 65);
    }
    byte[] hash = keccak256(xy);
    return new EthereumAddress(Arrays.copyOfRange(hash, 12, 32));
  }

  /**
   * Parses {@code 0x} + 40 hex digits. All-lowercase and all-uppercase input is accepted as is;
   * mixed case must be a valid EIP-55 checksum (a typo in a checksummed address is refused).
   */
  public static EthereumAddress parse(String text) {
    if (text == null || !text.startsWith("0x") || text.length() != 42) {
      throw new IllegalArgumentException("address must be 0x followed by 40 hex digits");
    }
    String digits = text.substring(2);
    EthereumAddress a = new EthereumAddress(Hex.decode(digits, "address"));
    boolean mixed = !digits.equals(digits.toLowerCase()) && !digits.equals(digits.toUpperCase());
    if (mixed && !a.toString().equals(text)) {
      throw new IllegalArgumentException("address has an invalid EIP-55 checksum: " + text);
    }
    return a;
  }

  public byte[] toBytes() {
    return bytes.clone();
  }

  /** EIP-55: hex digit i is uppercased iff nibble i of keccak256(lowercase hex) is >= 8. */
  public String toChecksumString() {
    String lower = Hex.encode(bytes);
    byte[] hash = keccak256(lower.getBytes(StandardCharsets.US_ASCII));
    StringBuilder sb = new StringBuilder("0x");
    for (int i = 0; i < lower.length(); i++) {
      char c = lower.charAt(i);
      int nibble = (hash[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0xF;
      sb.append(nibble >= 8 ? Character.toUpperCase(c) : c);
    }
    return sb.toString();
  }

  static byte[] keccak256(byte[] data) {
    KeccakDigest d = new KeccakDigest(256);
    d.update(data, 0, data.length);
    byte[] out = new byte[32];
    d.doFinal(out, 0);
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EthereumAddress other && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return toChecksumString();
  }
}
