package org.teekms.kms.roots;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.teekms.kms.seal.SealingKey;

/**
 * How a root secret is sealed at rest: AES-256-GCM under the sealing key with {@code AAD =
 * lp("tee-kms/root-seal/v1") ‖ lp(utf8(kms_id)) ‖ u32(generation)} (lp = 4-byte big-endian length
 * prefix). The AAD binds the blob to its KMS and generation: a blob copied to another generation's
 * row, or into another KMS's database sealed under the same key, does not unseal.
 */
public final class RootSealing {

  public static final int ROOT_SECRET_LENGTH = 32;
  private static final byte[] DOMAIN = "tee-kms/root-seal/v1".getBytes(StandardCharsets.US_ASCII);

  private RootSealing() {}

  public static byte[] aad(String kmsId, int generation) {
    byte[] id = kmsId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(4 + DOMAIN.length + 4 + id.length + 4)
        .putInt(DOMAIN.length)
        .put(DOMAIN)
        .putInt(id.length)
        .put(id)
        .putInt(generation)
        .array();
  }

  public static byte[] seal(SealingKey key, String kmsId, int generation, byte[] rootSecret) {
    if (rootSecret.length != ROOT_SECRET_LENGTH) {
      throw new IllegalArgumentException("root secret must be 32 bytes");
    }
    return key.seal(rootSecret, aad(kmsId, generation));
  }

  public static byte[] unseal(SealingKey key, String kmsId, int generation, byte[] sealed) {
    return key.unseal(sealed, aad(kmsId, generation));
  }
}
