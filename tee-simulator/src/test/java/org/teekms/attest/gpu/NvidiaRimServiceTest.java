package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * RIMs fetched by id: the service's answer format, and the store's use of it (checked like files,
 * cached).
 */
class NvidiaRimServiceTest {
  private static final Instant AT = Instant.parse("2026-11-24T00:00:00Z");
  private static final GpuSimulator SIM =
      GpuSimulator.seeded(1, HexFormat.of().parseHex("00112233445566778899aabbccddeeff"));

  private static String answer(String id, byte[] rim, byte[] sha256) {
    return "{\"id\":\""
        + id
        + "\",\"rim\":\""
        + Base64.getEncoder().encodeToString(rim)
        + "\",\"sha256\":\""
        + HexFormat.of().formatHex(sha256)
        + "\",\"rim_format\":\"TCG\"}";
  }

  private static byte[] sha256(byte[] b) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }

  @Test
  void answersAreCheckedAgainstTheirIdAndDigest() throws Exception {
    byte[] rim = SIM.driverRim();
    String id = "NV_GPU_DRIVER_GH100_" + GpuSimulator.DRIVER_VERSION;
    assertArrayEquals(
        rim,
        NvidiaRimService.parse(answer(id, rim, sha256(rim)).getBytes(StandardCharsets.UTF_8), id));
    byte[] wrongDigest = sha256("other".getBytes(StandardCharsets.UTF_8));
    for (String bad :
        List.of(
            answer(id, rim, wrongDigest),
            answer("NV_GPU_DRIVER_GH100_1.0", rim, sha256(rim)),
            "{\"id\":\"" + id + "\"}",
            "[]",
            "not json",
            "{\"rim\":\"%%%\",\"sha256\":\"00\"}",
            "")) {
      GpuAttestationException e =
          assertThrows(
              GpuAttestationException.class,
              () -> NvidiaRimService.parse(bad.getBytes(StandardCharsets.UTF_8), id),
              bad);
      assertEquals(GpuAttestationException.Reason.RIM_INVALID, e.reason());
    }
    byte[] huge = new byte[NvidiaRimService.MAX_ANSWER_BYTES + 1];
    assertThrows(GpuAttestationException.class, () -> NvidiaRimService.parse(huge, id));
  }

  @Test
  void truncatedAndMutatedAnswersNeverThrowUnchecked() throws Exception {
    byte[] rim = SIM.driverRim();
    String id = "NV_GPU_DRIVER_GH100_" + GpuSimulator.DRIVER_VERSION;
    byte[] good = answer(id, rim, sha256(rim)).getBytes(StandardCharsets.UTF_8);
    Random random = new Random(14);
    for (int i = 0; i < 300; i++) {
      byte[] b = java.util.Arrays.copyOf(good, random.nextInt(good.length));
      if (i % 2 == 0 && b.length > 0) {
        b[random.nextInt(b.length)] ^= (byte) (1 + random.nextInt(255));
      }
      byte[] input = b;
      try {
        NvidiaRimService.parse(input, id);
      } catch (GpuAttestationException expected) {
        assertEquals(GpuAttestationException.Reason.RIM_INVALID, expected.reason());
      }
    }
  }

  @Test
  void theStoreFetchesMissingRimsByIdChecksThemAndCachesThem() throws Exception {
    byte[] nonce = new byte[32];
    HopperReport report = HopperReportParser.parse(SIM.report(0, nonce));
    String driverId = "NV_GPU_DRIVER_GH100_" + GpuSimulator.DRIVER_VERSION;
    String vbiosId = "NV_GPU_VBIOS_1010_0200_882_96009F0001";
    Map<String, byte[]> service = Map.of(driverId, SIM.driverRim(), vbiosId, SIM.vbiosRim());
    AtomicInteger fetches = new AtomicInteger();
    RimStore store =
        RimStore.of(List.of())
            .withService(
                id -> {
                  fetches.incrementAndGet();
                  return Optional.ofNullable(service.get(id));
                },
                SIM.rimRoot(),
                10);
    assertEquals(Rim.Kind.DRIVER, store.driverRim(report, AT).kind());
    assertEquals(Rim.Kind.VBIOS, store.vbiosRim(report, AT).kind());
    store.driverRim(report, AT);
    assertEquals(2, fetches.get(), "the second lookup is served from the cache");

    // The service has no such RIM; or it answers with the other kind; or with a RIM not signed
    // under the root.
    RimStore empty = RimStore.of(List.of()).withService(id -> Optional.empty(), SIM.rimRoot(), 10);
    GpuAttestationException none =
        assertThrows(GpuAttestationException.class, () -> empty.driverRim(report, AT));
    assertTrue(none.getMessage().contains(driverId), none.getMessage());
    RimStore swapped =
        RimStore.of(List.of()).withService(id -> Optional.of(SIM.vbiosRim()), SIM.rimRoot(), 10);
    assertTrue(
        assertThrows(GpuAttestationException.class, () -> swapped.driverRim(report, AT))
            .getMessage()
            .contains("VBIOS RIM"));
    GpuSimulator other = GpuSimulator.seeded(1, new byte[16]);
    RimStore foreign =
        RimStore.of(List.of()).withService(id -> Optional.of(other.driverRim()), SIM.rimRoot(), 10);
    assertEquals(
        GpuAttestationException.Reason.RIM_INVALID,
        assertThrows(GpuAttestationException.class, () -> foreign.driverRim(report, AT)).reason());
  }
}
