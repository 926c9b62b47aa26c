package org.teekms.attest.osimage;

/**
 * Why the hardware measurements did not prove an OS image: the first failed check of {@link
 * OsImageVerifier}.
 */
public enum OsImageFailure {
  /**
   * The vm_config is not valid JSON, has an unknown field, a wrong type, or a value out of range.
   */
  VM_CONFIG_INVALID,
  /**
   * The vm_config carries no {@code tdx_measurement} document, so the image's measurements cannot
   * be computed.
   */
  MEASUREMENT_DOCUMENT_MISSING,
  /** {@code os_image_hash} is not SHA-256 of the checksum file. */
  OS_IMAGE_HASH_MISMATCH,
  /**
   * The checksum file is not a valid {@code sha256sum.txt} or does not list {@code
   * measurement.tdx.cbor} once.
   */
  CHECKSUM_FILE_INVALID,
  /**
   * The checksum file lists a different SHA-256 for {@code measurement.tdx.cbor} than the
   * document's.
   */
  MEASUREMENT_DOCUMENT_HASH_MISMATCH,
  /** The CBOR document does not decode to dstack's TDX measurement schema (version 3). */
  MEASUREMENT_DOCUMENT_INVALID,
  /** vm_config's {@code ovmf_variant} differs from the document's. */
  OVMF_VARIANT_MISMATCH,
  /**
   * The memory size is one for which the document's kernel hash does not hold (below 2.75 GiB,
   * except 2 GiB).
   */
  MEMORY_SIZE_UNSUPPORTED,
  /** {@code qemu_version} is malformed or older than 8.0.0. */
  QEMU_VERSION_UNSUPPORTED,
  /**
   * The event log lacks the RTMR0 ACPI DATA digests {@code acpi-loader}, {@code acpi-rsdp}, {@code
   * acpi-tables}.
   */
  ACPI_DIGESTS_MISSING,
  /**
   * The expected MRTD / RTMR0-2 of the image differ from the quote's: the TD did not boot this
   * image.
   */
  OS_IMAGE_MEASUREMENT_MISMATCH
}
