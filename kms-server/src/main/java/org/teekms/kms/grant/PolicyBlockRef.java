package org.teekms.kms.grant;

import org.teekms.crypto.Bytes;

/**
 * The chain block a policy decision was read at (chain id, number, 32-byte hash); compares by
 * value.
 */
public record PolicyBlockRef(long chainId, long number, Bytes hash) {

  public PolicyBlockRef {
    if (hash == null || hash.length() != 32) {
      throw new IllegalArgumentException("block hash must be 32 bytes");
    }
    if (number < 0 || chainId <= 0) {
      throw new IllegalArgumentException("chain id must be positive and block number non-negative");
    }
  }

  public PolicyBlockRef(long chainId, long number, byte[] hash) {
    this(chainId, number, hash == null ? null : Bytes.copyOf(hash));
  }

  @Override
  public String toString() {
    return "block " + number + " (0x" + hash.hex() + ") on chain " + chainId;
  }
}
