package org.teekms.attest.osimage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.crypto.Bytes;

/**
 * The OS-image measurement path on the real dstack 0.6.0 "lite" capture, and each way an attacker
 * could bend it.
 */
class OsImageVerifierTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void realLiteCaptureVerifiesAllFourRegisters() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    OsImageVerdict v = OsImageVerifier.verify(c.quoted(), c.vmConfigBytes(), c.eventLog());
    assertTrue(v.verified(), v.error());
    assertNull(v.failure());
    assertNull(v.error());
    assertEquals(List.of(), v.mismatches());
    assertEquals(
        "e6f5cfec20c02e7b97baa213d0f718020b55e040172d90ccbcb946d56c8b09db", v.osImageHash().hex());
    assertEquals(v.actual(), v.expected());
    assertEquals(c.quoted().mrTd(), v.expected().mrtd());
    assertEquals(v.osImageHash(), v.provenOsImageHash().orElseThrow());
  }

  @Test
  void anotherMemorySizeChangesTheTdHobAndFailsOnRtmr0() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    ObjectNode vm = c.vmConfigCopy();
    vm.put("memory_size", 4L << 30);
    OsImageVerdict v = c.verify(vm);
    assertMismatch(v, List.of("RTMR0"));
    assertTrue(
        v.error()
            .startsWith("OS_IMAGE_MEASUREMENT_MISMATCH: the TD did not boot OS image e6f5cfec"),
        v.error());
    assertTrue(v.error().contains("RTMR0 differs (expected "), v.error());
  }

  @Test
  void memorySizeTheDocumentCannotPredictIsRefused() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    ObjectNode vm = c.vmConfigCopy();
    vm.put("memory_size", 1L << 30);
    OsImageVerdict v = c.verify(vm);
    assertFailure(v, OsImageFailure.MEMORY_SIZE_UNSUPPORTED);
    assertTrue(v.error().contains("memory_size 1073741824 bytes"), v.error());
  }

  @Test
  void oneForgedAcpiDigestFailsOnRtmr0() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    List<EventLogEntry> log = new ArrayList<>();
    for (EventLogEntry e : c.eventLog()) {
      if (e.name().equals(AcpiDigests.RSDP)) {
        byte[] d = e.digest();
        d[0] ^= 1;
        e = new EventLogEntry(e.imr(), e.eventType(), d, e.name(), e.payload());
      }
      log.add(e);
    }
    OsImageVerdict v = OsImageVerifier.verify(c.quoted(), c.vmConfigBytes(), log);
    assertMismatch(v, List.of("RTMR0"));
  }

  @Test
  void aLogWithoutTheAcpiEventsIsRefused() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    List<EventLogEntry> log =
        c.eventLog().stream().filter(e -> !e.name().equals(AcpiDigests.TABLES)).toList();
    OsImageVerdict v = OsImageVerifier.verify(c.quoted(), c.vmConfigBytes(), log);
    assertFailure(v, OsImageFailure.ACPI_DIGESTS_MISSING);
    assertTrue(v.error().contains("has 2 RTMR0 ACPI DATA events"), v.error());
  }

  @Test
  void aChangedChecksumFileNoLongerHashesToTheOsImageHash() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    ObjectNode vm = c.vmConfigCopy();
    byte[] checksum = checksumFile(vm);
    checksum[checksum.length - 1] = ' ';
    setDocument(vm, checksum, document(vm));
    assertFailure(c.verify(vm), OsImageFailure.OS_IMAGE_HASH_MISMATCH);
  }

  @Test
  void aChangedOsImageHashNoLongerMatchesTheChecksumFile() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    ObjectNode vm = c.vmConfigCopy();
    vm.put("os_image_hash", "14ad42d0270b444eaeb53918a5a94d9b17eec7a817cd336173b17c5327541c67");
    OsImageVerdict v = c.verify(vm);
    assertFailure(v, OsImageFailure.OS_IMAGE_HASH_MISMATCH);
    assertEquals(
        "14ad42d0270b444eaeb53918a5a94d9b17eec7a817cd336173b17c5327541c67", v.osImageHash().hex());
    assertTrue(v.error().contains("is not SHA-256 of the checksum file (e6f5cfec"), v.error());
  }

  @Test
  void aChangedDocumentNoLongerMatchesTheChecksumFile() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    ObjectNode vm = c.vmConfigCopy();
    byte[] doc = document(vm);
    doc[doc.length - 1] ^= 1;
    setDocument(vm, checksumFile(vm), doc);
    OsImageVerdict v = c.verify(vm);
    assertFailure(v, OsImageFailure.MEASUREMENT_DOCUMENT_HASH_MISMATCH);
    assertTrue(
        v.error().contains("checksum file lists measurement.tdx.cbor as 8c9e955f"), v.error());
  }

  /**
   * The attacker's best move: a self-consistent image (own kernel, re-hashed document and checksum
   * file).
   */
  @Test
  void aSelfConsistentDocumentForAnotherKernelFailsOnRtmr1() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    ObjectNode vm = c.vmConfigCopy();
    TdxImageMeasurement real = TdxImageMeasurement.decode(document(vm));
    byte[] kernel = real.kernelAuthenticode().toByteArray();
    kernel[5] ^= 0x40;
    TdxImageMeasurement forged =
        new TdxImageMeasurement(
            real.cmdlineSha384(),
            Bytes.copyOf(kernel),
            real.initrdSha384(),
            real.ovmfVariant(),
            real.mrtdSinglePass(),
            real.mrtdTwoPass(),
            real.tdHobWitness());
    byte[] doc = forged.encode();
    byte[] checksum =
        (HEX.formatHex(sha256(doc)) + "  measurement.tdx.cbor\n").getBytes(StandardCharsets.UTF_8);
    setDocument(vm, checksum, doc);
    vm.put("os_image_hash", HEX.formatHex(sha256(checksum)));
    OsImageVerdict v = c.verify(vm);
    assertMismatch(v, List.of("RTMR1"));
    assertEquals(HEX.formatHex(sha256(checksum)), v.osImageHash().hex());
  }

  @Test
  void theQemuVersionPicksTheMrtdCandidate() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    ObjectNode vm = c.vmConfigCopy();
    vm.put("qemu_version", "9.2.1");
    assertMismatch(c.verify(vm), List.of("MRTD"));
    vm.put("qemu_single_pass_add_pages", true);
    assertTrue(
        c.verify(vm).verified(), "dstack passes qemu_single_pass_add_pages as the two-pass flag");
    vm.put("qemu_version", "7.2.0");
    assertFailure(c.verify(vm), OsImageFailure.QEMU_VERSION_UNSUPPORTED);
    vm.put("qemu_version", "9.x.1");
    assertFailure(c.verify(vm), OsImageFailure.QEMU_VERSION_UNSUPPORTED);
  }

  @Test
  void aMismatchedOvmfVariantOrUnknownFieldIsRefused() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    ObjectNode vm = c.vmConfigCopy();
    vm.put("ovmf_variant", "post202505");
    assertFailure(c.verify(vm), OsImageFailure.VM_CONFIG_INVALID);
    vm = c.vmConfigCopy();
    vm.put("kernel_override", "x");
    OsImageVerdict v = c.verify(vm);
    assertFailure(v, OsImageFailure.VM_CONFIG_INVALID);
    assertEquals("VM_CONFIG_INVALID: vm_config has unknown field 'kernel_override'", v.error());
  }

  @Test
  void aQuoteFromAnotherTdFailsOnEveryRegister() throws Exception {
    DstackCapture lite = DstackCapture.load(DstackCapture.LITE);
    DstackCapture other = DstackCapture.load(DstackCapture.LEGACY);
    OsImageVerdict v =
        OsImageVerifier.verify(other.quoted(), lite.vmConfigBytes(), lite.eventLog());
    assertMismatch(v, List.of("MRTD", "RTMR0", "RTMR1", "RTMR2"));
    assertEquals(TdxMeasurements.of(other.quoted()), v.actual());
  }

  @Test
  void theLegacyCaptureHasNoDocumentAndIsRefused() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LEGACY);
    OsImageVerdict v = OsImageVerifier.verify(c.quoted(), c.vmConfigBytes(), c.eventLog());
    assertFailure(v, OsImageFailure.MEASUREMENT_DOCUMENT_MISSING);
    assertEquals(
        "14ad42d0270b444eaeb53918a5a94d9b17eec7a817cd336173b17c5327541c67", v.osImageHash().hex());
    assertFalse(v.provenOsImageHash().isPresent());
  }

  /**
   * What is computable on the older real capture (64 GiB, its own OVMF build, no document): its TD
   * HOB and RTMR0, from its memory size, its three (unnamed) ACPI DATA digests and the dstack 0.6.0
   * document's TD HOB witness (the same TDVF section layout). Both equal what its hardware
   * measured.
   */
  @Test
  void legacyCaptureRtmr0IsReproducedFromMemorySizeAndAcpiDigests() throws Exception {
    DstackCapture legacy = DstackCapture.load(DstackCapture.LEGACY);
    DstackCapture lite = DstackCapture.load(DstackCapture.LITE);
    TdxImageMeasurement image = TdxImageMeasurement.decode(document(lite.vmConfigCopy()));
    VmConfig vm = VmConfig.parse(legacy.vmConfigBytes());
    assertEquals(64L << 30, vm.memorySize());
    assertArrayEquals(
        legacy.eventLog().get(0).digest(),
        TdHob.digest(image.tdHobWitness().toByteArray(), vm.memorySize()));
    AcpiDigests acpi = AcpiDigests.fromEventLog(legacy.eventLog());
    assertEquals(legacy.quoted().rtmrs().get(0), OsImageMeasurer.rtmr0(vm, image, acpi));
    ObjectNode other = legacy.vmConfigCopy();
    other.put("memory_size", 32L << 30);
    assertFalse(
        legacy
            .quoted()
            .rtmrs()
            .get(0)
            .equals(
                OsImageMeasurer.rtmr0(
                    VmConfig.parse(DstackCapture.JSON.writeValueAsBytes(other)), image, acpi)));
  }

  @Test
  void nullAndEmptyInputsAreVerdictsNotExceptions() throws Exception {
    DstackCapture c = DstackCapture.load(DstackCapture.LITE);
    assertFailure(OsImageVerifier.verify(c.quoted(), null, null), OsImageFailure.VM_CONFIG_INVALID);
    assertFailure(
        OsImageVerifier.verify(c.quoted(), c.vmConfigBytes(), null),
        OsImageFailure.ACPI_DIGESTS_MISSING);
    assertFailure(
        OsImageVerifier.verify(c.quoted(), "[]".getBytes(StandardCharsets.UTF_8), c.eventLog()),
        OsImageFailure.VM_CONFIG_INVALID);
  }

  static void assertFailure(OsImageVerdict v, OsImageFailure failure) {
    assertFalse(v.verified());
    assertEquals(failure, v.failure(), v.error());
    assertTrue(v.error().startsWith(failure.name() + ": "), v.error());
    assertFalse(v.error().contains("Exception"), v.error());
    assertEquals(List.of(), v.mismatches());
    assertNull(v.expected());
  }

  static void assertMismatch(OsImageVerdict v, List<String> registers) {
    assertFalse(v.verified());
    assertEquals(OsImageFailure.OS_IMAGE_MEASUREMENT_MISMATCH, v.failure(), v.error());
    assertEquals(registers, v.mismatches());
    assertEquals(registers, v.expected().differences(v.actual()));
    for (String r : registers) {
      assertTrue(v.error().contains(r + " differs"), v.error());
    }
  }

  static byte[] checksumFile(ObjectNode vm) {
    return Base64.getDecoder().decode(vm.get("tdx_measurement").get("checksum_file").asText());
  }

  static byte[] document(ObjectNode vm) {
    return Base64.getDecoder().decode(vm.get("tdx_measurement").get("measurement").asText());
  }

  static void setDocument(ObjectNode vm, byte[] checksum, byte[] doc) {
    ObjectNode m = vm.putObject("tdx_measurement");
    m.put("checksum_file", Base64.getEncoder().encodeToString(checksum));
    m.put("measurement", Base64.getEncoder().encodeToString(doc));
  }

  static byte[] sha256(byte[] b) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }
}
