package org.teekms.attest.osimage;

import org.teekms.crypto.Bytes;

/**
 * Computes the MRTD and RTMR0-2 a dstack OS image yields in a given VM, from its measurement
 * document, the vm_config and the RTMR0 ACPI digests (dstack-mr {@code
 * tdx_measurements_from_measurement_document}); specified with vectors in {@code
 * docs/os-image-measurement.md}.
 */
public final class OsImageMeasurer {
  /**
   * dstack-mr {@code TDX_KERNEL_HASH_COMPAT_2G_MEMORY}: 2 GiB places the initrd as the high-memory
   * case does.
   */
  public static final long COMPAT_2G_MEMORY = 0x8000_0000L;

  private OsImageMeasurer() {}

  /** All four registers; the checks of {@link #mrtd}, {@link #rtmr0} in that order. */
  public static TdxMeasurements measure(VmConfig vm, TdxImageMeasurement image, AcpiDigests acpi)
      throws OsImageException {
    checkMemorySize(vm.memorySize());
    return new TdxMeasurements(mrtd(vm, image), rtmr0(vm, image, acpi), rtmr1(image), rtmr2(image));
  }

  /**
   * The document's kernel hash is that of the kernel as QEMU patches it for high memory; below 2.75
   * GiB (except at exactly 2 GiB) QEMU patches it differently, so the document cannot predict RTMR1
   * and the VM is refused.
   */
  public static void checkMemorySize(long memorySize) throws OsImageException {
    if (memorySize != COMPAT_2G_MEMORY && memorySize < TdHob.HIGH_MEMORY_THRESHOLD) {
      throw new OsImageException(
          OsImageFailure.MEMORY_SIZE_UNSUPPORTED,
          "memory_size "
              + memorySize
              + " bytes: the measurement document holds only for exactly "
              + COMPAT_2G_MEMORY
              + " bytes (2 GiB) or at "
              + "least "
              + TdHob.HIGH_MEMORY_THRESHOLD
              + " bytes (2.75 GiB)");
    }
  }

  /**
   * MRTD: one of the document's two candidates. QEMU 8.x adds and extends TD pages in two passes,
   * QEMU 9+ in one; an absent {@code qemu_version} means 9.1.0; below 8.0.0 is refused. When {@code
   * qemu_single_pass_add_pages} is set, its value picks the two-pass candidate (dstack passes that
   * field as the two-pass flag; ported as it is).
   */
  public static Bytes mrtd(VmConfig vm, TdxImageMeasurement image) throws OsImageException {
    int[] version = qemuVersion(vm.qemuVersion());
    boolean qemu8 = version[0] == 8;
    boolean twoPass = vm.qemuSinglePassAddPages() != null ? vm.qemuSinglePassAddPages() : qemu8;
    return twoPass ? image.mrtdTwoPass() : image.mrtdSinglePass();
  }

  /** RTMR0 from the TD HOB (witness + memory size), OVMF's fixed events and the ACPI digests. */
  public static Bytes rtmr0(VmConfig vm, TdxImageMeasurement image, AcpiDigests acpi)
      throws OsImageException {
    byte[] hob = TdHob.digest(image.tdHobWitness().toByteArray(), vm.memorySize());
    return Bytes.copyOf(RtmrLog.replay(RtmrLog.rtmr0(hob, acpi)));
  }

  public static Bytes rtmr1(TdxImageMeasurement image) {
    return Bytes.copyOf(RtmrLog.replay(RtmrLog.rtmr1(image.kernelAuthenticode().toByteArray())));
  }

  public static Bytes rtmr2(TdxImageMeasurement image) {
    return Bytes.copyOf(
        RtmrLog.replay(
            RtmrLog.rtmr2(
                image.cmdlineSha384().toByteArray(), image.initrdSha384().toByteArray())));
  }

  /** {@code major.minor.patch}, each a u32, at least 8.0.0; absent = 9.1.0. */
  static int[] qemuVersion(String v) throws OsImageException {
    if (v == null) {
      return new int[] {9, 1, 0};
    }
    String[] parts = v.split("\\.", -1);
    if (parts.length != 3) {
      throw badQemu("qemu_version '" + v + "' must be MAJOR.MINOR.PATCH");
    }
    int[] out = new int[3];
    for (int i = 0; i < 3; i++) {
      if (!parts[i].matches("\\+?[0-9]+")) {
        throw badQemu("qemu_version '" + v + "' has a non-numeric part");
      }
      java.math.BigInteger n = new java.math.BigInteger(parts[i]);
      if (n.bitLength() > 32) {
        throw badQemu("qemu_version '" + v + "' has a part over 2^32-1");
      }
      out[i] = (int) Math.min(n.longValue(), Integer.MAX_VALUE);
    }
    if (out[0] < 8) {
      throw badQemu("qemu_version " + v + " is older than 8.0.0");
    }
    return out;
  }

  private static OsImageException badQemu(String message) {
    return new OsImageException(OsImageFailure.QEMU_VERSION_UNSUPPORTED, message);
  }
}
