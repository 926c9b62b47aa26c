package org.teekms.kms.grant;

import java.util.HexFormat;

/** The chain block a policy decision was read at (chain id, number, 32-byte hash). */
public record PolicyBlockRef(long chainId, long number, byte[] hash) {

  public PolicyBlockRef {
    if (hash == null || hash.length != 32) {
      throw new IllegalArgumentException("block hash must be 32 bytes");
    }
    if (number < 0 || chainId <= 0) {
      throw new IllegalArgumentException("chain id must be positive and block number non-negative");
    }
    hash = hash.clone();
  }

  @Override
  public byte[] hash() {
    return hash.clone();
  }

  @Override
  public String toString() {
    return "block " + number + " (0x" + HexFormat.of().formatHex(hash) + ") on chain " + chainId;
  }
}
