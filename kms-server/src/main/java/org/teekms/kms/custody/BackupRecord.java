package org.teekms.kms.custody;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.teekms.crypto.Bytes;
import org.teekms.governance.RootCustody;

/**
 * What this KMS made for a generation's backup (table {@code root_backup}): the threshold, the
 * commitments, the custodian ids and the envelope digests in share order, and the staging tag of
 * its share-store folder. Public values, but the database is host-writable: {@link #mac}
 * authenticates the record under a key derived from the generation's root (HKDF-SHA256, salt
 * "teekms-custody-record-v1", info u32be generation), so only a holder of the root (a KMS node) can
 * write a record that {@link #verify}s, and a host that swaps the store's envelopes and the record
 * together is caught when the record is checked.
 */
public record BackupRecord(
    int generation,
    int threshold,
    Bytes commitments,
    List<Bytes> custodianIds,
    List<Bytes> envelopeDigests,
    String stagingTag) {

  static final byte[] SALT = "teekms-custody-record-v1".getBytes(StandardCharsets.US_ASCII);

  public BackupRecord {
    Objects.requireNonNull(commitments, "commitments");
    custodianIds = List.copyOf(custodianIds);
    envelopeDigests = List.copyOf(envelopeDigests);
    if (custodianIds.size() != envelopeDigests.size())
      throw new IllegalArgumentException("one digest per custodian");
  }

  /** The authenticated bytes: every field, length-prefixed. */
  byte[] encode() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes("teekms-custody-record-v1".getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(
        ByteBuffer.allocate(12)
            .putInt(generation)
            .putInt(threshold)
            .putInt(commitments.length())
            .array());
    out.writeBytes(commitments.toByteArray());
    out.writeBytes(ByteBuffer.allocate(4).putInt(custodianIds.size()).array());
    for (int i = 0; i < custodianIds.size(); i++) {
      out.writeBytes(custodianIds.get(i).toByteArray());
      out.writeBytes(envelopeDigests.get(i).toByteArray());
    }
    byte[] tag = stagingTag.getBytes(StandardCharsets.US_ASCII);
    out.writeBytes(ByteBuffer.allocate(4).putInt(tag.length).array());
    out.writeBytes(tag);
    return out.toByteArray();
  }

  /**
   * HMAC-SHA256 of {@link #encode()} under the record key of this generation's root (32 bytes, not
   * consumed).
   */
  public byte[] mac(byte[] root) {
    byte[] key = new byte[32];
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    hkdf.init(new HKDFParameters(root, SALT, ByteBuffer.allocate(4).putInt(generation).array()));
    hkdf.generateBytes(key, 0, 32);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(encode());
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    } finally {
      java.util.Arrays.fill(key, (byte) 0);
    }
  }

  /** Constant-time check of a stored MAC. */
  public boolean verify(byte[] root, byte[] storedMac) {
    return storedMac != null && MessageDigest.isEqual(mac(root), storedMac);
  }

  /**
   * Why the on-chain backup is not this record, or null when it is exactly it (threshold,
   * commitments, custodians and digests, in order).
   */
  public String differenceFrom(RootCustody.Backup published) {
    if (published.threshold() != threshold)
      return "threshold " + published.threshold() + " instead of " + threshold;
    if (!published.commitments().equals(commitments)) return "other commitments";
    if (published.custodianIds().size() != custodianIds.size()) {
      return published.custodianIds().size() + " custodians instead of " + custodianIds.size();
    }
    for (int i = 0; i < custodianIds.size(); i++) {
      if (!published.custodianIds().get(i).equals(custodianIds.get(i))) {
        return "another custodian for share " + (i + 1);
      }
      if (!published.envelopeDigests().get(i).equals(envelopeDigests.get(i))) {
        return "another envelope digest for share " + (i + 1);
      }
    }
    return null;
  }

  /** Concatenation of 32-byte values (the database columns). */
  static byte[] concat(List<Bytes> values) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    values.forEach(v -> out.writeBytes(v.toByteArray()));
    return out.toByteArray();
  }

  static List<Bytes> split32(byte[] concatenated) {
    if (concatenated.length % 32 != 0)
      throw new BackupMismatch("a root_backup list is not a multiple of 32 bytes");
    List<Bytes> out = new ArrayList<>();
    for (int i = 0; i < concatenated.length; i += 32) {
      out.add(Bytes.copyOf(concatenated, i, 32));
    }
    return out;
  }
}
