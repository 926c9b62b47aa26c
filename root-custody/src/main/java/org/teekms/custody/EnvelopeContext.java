package org.teekms.custody;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.teekms.crypto.Bytes;

/**
 * What a share envelope is bound to (its AES-GCM associated data, docs/root-custody.md §4): why it
 * exists (backup to a custodian, or re-encryption for one recovery request), the root generation,
 * the share index, the commitments the share belongs to, the recovery request id (32 zero bytes for
 * a backup) and, added when sealing, the recipient key id. An envelope moved to another generation,
 * index, request or recipient fails to open.
 */
public record EnvelopeContext(
    Purpose purpose, long generation, int index, Bytes commitmentsDigest, Bytes requestId) {

  static final byte[] LABEL = "teekms-custody-share-v1".getBytes(StandardCharsets.US_ASCII);

  /** Encoded as one byte. */
  public enum Purpose {
    BACKUP(1),
    RECOVERY(2);

    final int code;

    Purpose(int code) {
      this.code = code;
    }
  }

  public EnvelopeContext {
    Objects.requireNonNull(purpose, "purpose");
    if (generation < 1 || generation > 0xffffffffL) {
      throw new IllegalArgumentException("generation must be 1..2^32-1, got " + generation);
    }
    if (index < 1 || index > Share.MAX_INDEX) {
      throw new IllegalArgumentException(
          "share index must be 1.." + Share.MAX_INDEX + ", got " + index);
    }
    if (commitmentsDigest.length() != 32 || requestId.length() != 32) {
      throw new IllegalArgumentException("commitments digest and request id must be 32 bytes");
    }
    if (purpose == Purpose.BACKUP && !requestId.isAllZero()) {
      throw new IllegalArgumentException("a backup envelope has no recovery request id");
    }
  }

  public static EnvelopeContext backup(long generation, int index, byte[] commitmentsDigest) {
    return new EnvelopeContext(
        Purpose.BACKUP,
        generation,
        index,
        Bytes.copyOf(commitmentsDigest),
        Bytes.copyOf(new byte[32]));
  }

  public static EnvelopeContext recovery(
      long generation, int index, byte[] commitmentsDigest, byte[] requestId) {
    return new EnvelopeContext(
        Purpose.RECOVERY,
        generation,
        index,
        Bytes.copyOf(commitmentsDigest),
        Bytes.copyOf(requestId));
  }

  /**
   * LABEL ‖ purpose ‖ generation (u32 BE) ‖ index ‖ commitmentsDigest ‖ requestId ‖ recipientId ‖
   * ephemeralKey.
   */
  byte[] aad(byte[] recipientId, byte[] ephemeralKey) {
    return ByteBuffer.allocate(LABEL.length + 1 + 4 + 1 + 32 + 32 + 32 + 65)
        .put(LABEL)
        .put((byte) purpose.code)
        .putInt((int) generation)
        .put((byte) index)
        .put(commitmentsDigest.toByteArray())
        .put(requestId.toByteArray())
        .put(recipientId)
        .put(ephemeralKey)
        .array();
  }

  @Override
  public String toString() {
    return "EnvelopeContext[" + purpose + ", generation " + generation + ", index " + index + "]";
  }
}
