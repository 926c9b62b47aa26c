package org.teekms.custody;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.bouncycastle.crypto.digests.SHA256Digest;

/**
 * Test-only deterministic byte stream for reproducible vectors (docs/root-custody.md §8): block k
 * (k = 0, 1, …) is SHA-256(seed ASCII ‖ k as 8 bytes big-endian), blocks concatenated and consumed
 * in order by nextBytes.
 */
final class SeededRandom extends SecureRandom {
  private static final long serialVersionUID = 1L;
  private final byte[] seed;
  private long counter;
  private byte[] block = new byte[0];
  private int used;

  SeededRandom(String seed) {
    this.seed = seed.getBytes(StandardCharsets.US_ASCII);
  }

  @Override
  public synchronized void nextBytes(byte[] out) {
    for (int i = 0; i < out.length; i++) {
      if (used == block.length) {
        SHA256Digest d = new SHA256Digest();
        d.update(seed, 0, seed.length);
        d.update(ByteBuffer.allocate(8).putLong(counter++).array(), 0, 8);
        block = new byte[32];
        d.doFinal(block, 0);
        used = 0;
      }
      out[i] = block[used++];
    }
  }
}
