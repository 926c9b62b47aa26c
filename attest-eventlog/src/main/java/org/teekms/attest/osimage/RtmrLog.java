package org.teekms.attest.osimage;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.teekms.attest.eventlog.RuntimeEventDigest;
import org.teekms.crypto.Digests;

/**
 * The expected event digests of RTMR0-2 for a dstack OS image booted by OVMF (pre-202505 layout),
 * as dstack-mr builds them, and the register they replay to ({@code R := SHA-384(R ‖ digest)} from
 * 48 zero bytes).
 */
public final class RtmrLog {
  /**
   * The CFV (OVMF configuration firmware volume) image event of pre-202505 OVMF: a fixed digest.
   */
  public static final byte[] CFV_IMAGE =
      HexFormat.of()
          .parseHex(
              "344bc51c980ba621aaa00da3ed7436f7d6e549197dfe699515dfa2c6583d95e6412af21c097d473155875ffd561d6790");

  /** {@code Boot0000} (OVMF's UiApp boot option) of pre-202505 OVMF: a fixed digest. */
  public static final byte[] BOOT0000 =
      HexFormat.of()
          .parseHex(
              "23ada07f5261f12f34a0bd8e46760962d6b4d576a416f1fea1c64bc656b1d28eacf7047ae6e967c58fd2a98bfa74c298");

  static final String EFI_GLOBAL_VARIABLE = "8BE4DF61-93CA-11D2-AA0D-00E098032B8C";
  static final String EFI_IMAGE_SECURITY_DATABASE = "D719B2CB-3D3A-4596-A3BC-DAD00E67656F";

  private RtmrLog() {}

  /**
   * RTMR0's 13 events: TD HOB, CFV image, the (empty) Secure Boot variables SecureBoot, PK, KEK,
   * db, dbx, the separator, the three ACPI DATA events (loader, RSDP, tables), BootOrder (two zero
   * bytes) and Boot0000.
   */
  public static List<byte[]> rtmr0(byte[] tdHobDigest, AcpiDigests acpi) {
    return List.of(
        tdHobDigest,
        CFV_IMAGE.clone(),
        efiVariable(EFI_GLOBAL_VARIABLE, "SecureBoot"),
        efiVariable(EFI_GLOBAL_VARIABLE, "PK"),
        efiVariable(EFI_GLOBAL_VARIABLE, "KEK"),
        efiVariable(EFI_IMAGE_SECURITY_DATABASE, "db"),
        efiVariable(EFI_IMAGE_SECURITY_DATABASE, "dbx"),
        sha384(new byte[4]),
        acpi.loader().toByteArray(),
        acpi.rsdp().toByteArray(),
        acpi.tables().toByteArray(),
        sha384(new byte[2]),
        BOOT0000.clone());
  }

  /**
   * RTMR1's 5 events: the kernel's Authenticode hash, then OVMF's fixed boot-service strings and
   * the separator.
   */
  public static List<byte[]> rtmr1(byte[] kernelAuthenticode) {
    return List.of(
        kernelAuthenticode.clone(),
        sha384("Calling EFI Application from Boot Option".getBytes(StandardCharsets.US_ASCII)),
        sha384(new byte[4]),
        sha384("Exit Boot Services Invocation".getBytes(StandardCharsets.US_ASCII)),
        sha384("Exit Boot Services Returned with Success".getBytes(StandardCharsets.US_ASCII)));
  }

  /** RTMR2's 2 events: the kernel command line, then the initrd. */
  public static List<byte[]> rtmr2(byte[] cmdlineSha384, byte[] initrdSha384) {
    return List.of(cmdlineSha384.clone(), initrdSha384.clone());
  }

  /** The register a log replays to. */
  public static byte[] replay(List<byte[]> log) {
    byte[] r = new byte[48];
    for (byte[] d : log) {
      r = RuntimeEventDigest.extend(r, d);
    }
    return r;
  }

  /**
   * The digest of a kernel command line event: SHA-384 of its UTF-16LE encoding plus a UTF-16 NUL.
   * The measured line is the image's command line followed by {@code " initrd=initrd"}.
   */
  public static byte[] cmdline(String measuredCmdline) {
    byte[] utf16 = measuredCmdline.getBytes(StandardCharsets.UTF_16LE);
    byte[] withNul = java.util.Arrays.copyOf(utf16, utf16.length + 2);
    return sha384(withNul);
  }

  /**
   * The digest of an EFI variable event for an empty variable: SHA-384 of vendor GUID
   * (mixed-endian, 16 bytes) ‖ le64(name length in characters) ‖ le64(0 = data length) ‖ name in
   * UTF-16LE.
   */
  static byte[] efiVariable(String guid, String name) {
    byte[] nameUtf16 = name.getBytes(StandardCharsets.UTF_16LE);
    ByteBuffer b = ByteBuffer.allocate(16 + 16 + nameUtf16.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(guid(guid)).putLong(name.length()).putLong(0).put(nameUtf16);
    return sha384(b.array());
  }

  /**
   * A GUID string as EFI stores it: the first three groups little-endian, the last two as written.
   */
  static byte[] guid(String guid) {
    String[] parts = guid.split("-");
    ByteBuffer out = ByteBuffer.allocate(16);
    for (int i = 0; i < parts.length; i++) {
      byte[] raw = HexFormat.of().parseHex(parts[i]);
      if (i <= 2) {
        for (int j = raw.length - 1; j >= 0; j--) {
          out.put(raw[j]);
        }
      } else {
        out.put(raw);
      }
    }
    return out.array();
  }

  static byte[] sha384(byte[] data) {
    return Digests.sha384(data);
  }
}
