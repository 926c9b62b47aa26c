package org.teekms.attest.eventlog;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

/**
 * The /Attest blob: dstack's VersionedAttestation::V0 in SCALE (docs/guest-api.md, vector checked
 * by Python too).
 */
class DstackAttestationTest {
  /**
   * docs/guest-api.md "Attest" vector (also produced by
   * attest-eventlog/src/test/python/check_attestation_vector.py).
   */
  static final String VECTOR =
      "0000200400020081000000080000000001000080c011111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111100000300000001000008c00e08650e3eec4934bea8ae6a25b3380fb31c899238f6abcc28534c851d529c9ff7049342a828c0d2007d88325bed97c8186170702d696450222222222222222222222222222222222222222204186170702d6964502222222222222222222222222222222222222222000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f507b226f735f696d6167655f68617368223a22227d";

  static DstackAttestation vectorInputs() {
    byte[] reportData = new byte[64];
    for (int i = 0; i < 64; i++) {
      reportData[i] = (byte) i;
    }
    byte[] fill = new byte[48];
    Arrays.fill(fill, (byte) 0x11);
    byte[] appId = new byte[20];
    Arrays.fill(appId, (byte) 0x22);
    return DstackAttestation.of(
        HexFormat.of().parseHex("0400020081000000"),
        List.of(
            new EventLogEntry(0, 0x80000001L, fill, "", new byte[0]),
            new EventLogEntry(
                3, RuntimeEventDigest.DSTACK_RUNTIME_EVENT_TYPE, null, "app-id", appId)),
        reportData,
        "{\"os_image_hash\":\"\"}");
  }

  @Test
  void encodesTheDocumentedVector() {
    assertEquals(VECTOR, HexFormat.of().formatHex(vectorInputs().encode()));
  }

  @Test
  void decodesTheVectorBackIntoTheSameValue() throws Exception {
    DstackAttestation a = DstackAttestation.decode(HexFormat.of().parseHex(VECTOR));
    assertEquals(vectorInputs(), a);
    assertEquals(
        List.of(new DstackAttestation.RuntimeEvent("app-id", Bytes.fromHex("22".repeat(20)))),
        a.runtimeEvents());
    assertArrayEquals(
        RuntimeEventDigest.v1("app-id", Bytes.fromHex("22".repeat(20)).toByteArray()),
        a.eventLog().get(1).digest(),
        "runtime events carry their computed digest");
  }

  @Test
  void everyTruncationIsRefusedWithOneLine() {
    byte[] full = HexFormat.of().parseHex(VECTOR);
    for (int n = 0; n < full.length; n++) {
      byte[] cut = Arrays.copyOf(full, n);
      EventLogException e =
          assertThrows(EventLogException.class, () -> DstackAttestation.decode(cut), "length " + n);
      assertTrue(
          !e.getMessage().contains("\n") && !e.getMessage().contains("Exception"), e.getMessage());
    }
  }

  @Test
  void trailingBytesAndOtherFormsAreRefused() {
    byte[] full = HexFormat.of().parseHex(VECTOR);
    byte[] longer = Arrays.copyOf(full, full.length + 1);
    assertTrue(message(longer).contains("trailing"));
    byte[] msgpack = full.clone();
    msgpack[0] = (byte) 0x83;
    assertTrue(message(msgpack).contains("msgpack"));
    byte[] otherPlatform = full.clone();
    otherPlatform[1] = 1;
    assertTrue(message(otherPlatform).contains("DstackTdx"));
  }

  @Test
  void lengthsAreBoundedBeforeAnythingIsAllocated() {
    // a quote claiming 2^29 bytes in a 7-byte blob
    assertTrue(message(HexFormat.of().parseHex("0000" + "02000080")).contains("limit"));
    // 2^30 and above (the big-integer mode) is refused outright
    assertTrue(message(HexFormat.of().parseHex("0000" + "03ffffffff")).contains("2^30"));
    // a count of events over the codec's limit
    assertTrue(message(HexFormat.of().parseHex("0000" + "00" + "0510")).contains("entries, limit"));
    assertTrue(message(new byte[0]).contains("empty"));
  }

  @Test
  void nonCanonicalLengthsAreRefused() {
    // quote length 1 written in the two-byte mode
    assertTrue(message(HexFormat.of().parseHex("0000" + "0500" + "00")).contains("non-canonical"));
  }

  @Test
  void invalidUtf8InANameIsRefused() {
    String hex =
        VECTOR.replace(
            "18" + HexFormat.of().formatHex("app-id".getBytes()), "18" + "ff" + "70702d6964");
    assertTrue(message(HexFormat.of().parseHex(hex)).contains("not UTF-8"));
  }

  private static String message(byte[] b) {
    return assertThrows(EventLogException.class, () -> DstackAttestation.decode(b)).getMessage();
  }
}
