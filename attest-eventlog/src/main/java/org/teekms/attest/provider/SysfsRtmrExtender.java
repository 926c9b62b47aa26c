package org.teekms.attest.provider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Extends RTMRs through the TDX guest driver's measurement-register attributes (mainline Linux >=
 * 6.16, {@code tsm-mr}): writing 48 bytes to {@code
 * /sys/class/misc/tdx_guest/measurements/rtmrN:sha384} extends RTMR N (the driver exposes RTMR2 and
 * RTMR3 as writable). Older kernels have no such file; the distribution TDX kernels' {@code
 * TDX_CMD_EXTEND_RTMR} ioctl needs native code and is not supported: this extender then fails with
 * that explanation. The base directory is configurable for tests.
 */
public final class SysfsRtmrExtender implements RtmrExtender {
  public static final Path DEFAULT_BASE = Path.of("/sys/class/misc/tdx_guest/measurements");

  private final Path base;

  public SysfsRtmrExtender(Path base) {
    this.base = base;
  }

  public static SysfsRtmrExtender tdx() {
    return new SysfsRtmrExtender(DEFAULT_BASE);
  }

  @Override
  public synchronized void extend(int index, byte[] sha384Digest) throws QuoteProviderException {
    if (index < 2 || index > 3) {
      throw new IllegalArgumentException(
          "only RTMR2 and RTMR3 are extensible from the guest, got " + index);
    }
    if (sha384Digest.length != 48) {
      throw new IllegalArgumentException("an RTMR extension is a 48-byte SHA-384 digest");
    }
    Path attr = base.resolve("rtmr" + index + ":sha384");
    if (!Files.exists(attr)) {
      throw new QuoteProviderException(
          "no " + attr + ": RTMR extension needs Linux >= 6.16 (tdx_guest tsm-mr)");
    }
    try {
      // one write(2) of exactly 48 bytes: the kernel rejects partial digests
      Files.write(
          attr, sha384Digest, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    } catch (IOException e) {
      throw new QuoteProviderException(
          "extending RTMR" + index + " via " + attr + " failed: " + e.getMessage(), e);
    }
  }

  /** Reads the current value of RTMR{@code index} (all four are readable). */
  public byte[] read(int index) throws QuoteProviderException {
    Path attr = base.resolve("rtmr" + index + ":sha384");
    try {
      byte[] v = Files.readAllBytes(attr);
      if (v.length != 48) {
        throw new QuoteProviderException(attr + " holds " + v.length + " bytes, expected 48");
      }
      return v;
    } catch (IOException e) {
      throw new QuoteProviderException("reading " + attr + " failed: " + e.getMessage(), e);
    }
  }
}
