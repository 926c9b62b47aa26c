package org.teekms.attest.osimage;

import java.security.MessageDigest;
import java.util.Arrays;
import org.teekms.crypto.Digests;

/**
 * dstack's {@code vm_config.tdx_measurement}: the image's {@code sha256sum.txt} bytes and its
 * {@code measurement.tdx.cbor} bytes (both base64 in the vm_config JSON). The OS image hash is
 * {@code SHA-256(checksum_file)}, and the checksum file lists the CBOR document's SHA-256, so the
 * document is bound to the hash; {@link #check(byte[])} does both checks.
 */
public final class TdxMeasurementDocument {
  /** The name under which {@code sha256sum.txt} lists the document. */
  public static final String FILENAME = "measurement.tdx.cbor";

  public static final int MAX_CHECKSUM_FILE_BYTES = 64 * 1024;
  public static final int MAX_DOCUMENT_BYTES = 64 * 1024;

  private final byte[] checksumFile;
  private final byte[] measurement;

  public TdxMeasurementDocument(byte[] checksumFile, byte[] measurement) {
    if (checksumFile.length > MAX_CHECKSUM_FILE_BYTES || measurement.length > MAX_DOCUMENT_BYTES) {
      throw new IllegalArgumentException("checksum file or measurement document over 64 KiB");
    }
    this.checksumFile = checksumFile.clone();
    this.measurement = measurement.clone();
  }

  public byte[] checksumFile() {
    return checksumFile.clone();
  }

  public byte[] measurement() {
    return measurement.clone();
  }

  /** The OS image hash this document defines: SHA-256 of the checksum file. */
  public byte[] osImageHash() {
    return sha256(checksumFile);
  }

  /**
   * Checks, in order (the first failure is the reason): {@code osImageHash ==
   * SHA-256(checksum_file)}; the checksum file lists {@value #FILENAME} exactly once with a
   * well-formed SHA-256; that hash equals SHA-256 of the document.
   */
  public void check(byte[] osImageHash) throws OsImageException {
    byte[] fromFile = osImageHash();
    if (!MessageDigest.isEqual(fromFile, osImageHash)) {
      throw new OsImageException(
          OsImageFailure.OS_IMAGE_HASH_MISMATCH,
          "os_image_hash "
              + Hex.of(osImageHash)
              + " is not SHA-256 of the checksum file ("
              + Hex.of(fromFile)
              + ")");
    }
    byte[] listed = ChecksumFile.entry(checksumFile, FILENAME);
    byte[] actual = sha256(measurement);
    if (!MessageDigest.isEqual(listed, actual)) {
      throw new OsImageException(
          OsImageFailure.MEASUREMENT_DOCUMENT_HASH_MISMATCH,
          "checksum file lists "
              + FILENAME
              + " as "
              + Hex.of(listed)
              + " but the document's SHA-256 is "
              + Hex.of(actual));
    }
  }

  static byte[] sha256(byte[] data) {
    return Digests.sha256(data);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TdxMeasurementDocument d
        && Arrays.equals(checksumFile, d.checksumFile)
        && Arrays.equals(measurement, d.measurement);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(checksumFile) + Arrays.hashCode(measurement);
  }
}
