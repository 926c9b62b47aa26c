package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The external-collector provider against a fake collector (a shell script printing prepared JSON).
 */
class CommandGpuEvidenceProviderTest {
  private static final GpuSimulator SIM = GpuSimulator.create(2, new SecureRandom());
  @TempDir Path tmp;

  /**
   * Writes the collector JSON for {@code nonce} and a script that prints it only if called with
   * that nonce.
   */
  private List<String> fakeCollector(byte[] nonce) throws Exception {
    GpuEvidence e = SIM.evidence(nonce);
    List<Map<String, String>> gpus = new ArrayList<>();
    for (int i = 0; i < e.gpus().size(); i++) {
      StringBuilder pem = new StringBuilder();
      for (org.teekms.crypto.Bytes c : e.gpus().get(i).certChain()) {
        pem.append("-----BEGIN CERTIFICATE-----\n")
            .append(Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(c.toByteArray()))
            .append("\n-----END CERTIFICATE-----\n");
      }
      Map<String, String> g = new LinkedHashMap<>();
      g.put("report", e.gpus().get(i).report().hex());
      g.put("certChain", pem.toString());
      gpus.add(g);
    }
    Path json = tmp.resolve("evidence.json");
    new ObjectMapper().writeValue(json.toFile(), Map.of("architecture", "HOPPER", "gpus", gpus));
    Path script = tmp.resolve("collector.sh");
    Files.writeString(
        script,
        "#!/bin/sh\n"
            + "[ \"$1\" = \"$TEEKMS_GPU_NONCE\" ] || { echo 'nonce argument and environment differ' >&2; exit 3; }\n"
            + "[ \"$1\" = \""
            + HexFormat.of().formatHex(nonce)
            + "\" ] || { echo 'unexpected nonce' >&2; exit 4; }\n"
            + "cat '"
            + json
            + "'\n");
    return List.of("sh", script.toString(), CommandGpuEvidenceProvider.NONCE_PLACEHOLDER);
  }

  @Test
  void collectsEvidenceThatVerifies() throws Exception {
    byte[] nonce = GpuNonce.forSpki(TestCerts.key().getPublic().getEncoded());
    GpuEvidence e =
        new CommandGpuEvidenceProvider(fakeCollector(nonce), Duration.ofSeconds(20)).collect(nonce);
    assertEquals(2, e.gpus().size());
    List<GpuResult> results =
        GpuEvidenceVerifier.builder(SIM.deviceRoot())
            .revocation(RevocationChecker.disabled())
            .build()
            .verify(e, nonce, Instant.now());
    assertTrue(results.stream().allMatch(GpuResult::valid));
  }

  @Test
  void collectorFailureCarriesItsMessage() throws Exception {
    byte[] nonce = new byte[32];
    List<String> cmd =
        fakeCollector(
            new byte[] {
              1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
              25, 26, 27, 28, 29, 30, 31, 32
            });
    IOException e =
        assertThrows(
            IOException.class,
            () -> new CommandGpuEvidenceProvider(cmd, Duration.ofSeconds(20)).collect(nonce));
    assertTrue(e.getMessage().contains("exited 4: unexpected nonce"), e.getMessage());
  }

  @Test
  void reportsForAnotherNonceAreRefused() throws Exception {
    byte[] nonce = new byte[32];
    Path script = tmp.resolve("replay.sh");
    fakeCollector(new byte[32]); // writes evidence.json for the zero nonce
    Files.writeString(script, "#!/bin/sh\ncat '" + tmp.resolve("evidence.json") + "'\n");
    byte[] other = new byte[32];
    other[0] = 1;
    GpuAttestationException e =
        assertThrows(
            GpuAttestationException.class,
            () ->
                new CommandGpuEvidenceProvider(
                        List.of("sh", script.toString()), Duration.ofSeconds(20))
                    .collect(other));
    assertEquals(GpuAttestationException.Reason.NONCE_MISMATCH, e.reason());
    assertEquals(
        2,
        new CommandGpuEvidenceProvider(List.of("sh", script.toString()), Duration.ofSeconds(20))
            .collect(nonce)
            .gpus()
            .size());
  }

  @Test
  void garbageAndTimeoutsAreErrors() throws Exception {
    byte[] nonce = new byte[32];
    GpuAttestationException garbage =
        assertThrows(
            GpuAttestationException.class,
            () ->
                new CommandGpuEvidenceProvider(
                        List.of("sh", "-c", "echo '{\"gpus\": 1}'"), Duration.ofSeconds(20))
                    .collect(nonce));
    assertEquals(GpuAttestationException.Reason.MALFORMED_EVIDENCE, garbage.reason());
    GpuAttestationException notJson =
        assertThrows(
            GpuAttestationException.class,
            () ->
                new CommandGpuEvidenceProvider(
                        List.of("sh", "-c", "echo nope"), Duration.ofSeconds(20))
                    .collect(nonce));
    assertEquals(GpuAttestationException.Reason.MALFORMED_EVIDENCE, notJson.reason());
    IOException slow =
        assertThrows(
            IOException.class,
            () ->
                new CommandGpuEvidenceProvider(List.of("sleep", "30"), Duration.ofMillis(300))
                    .collect(nonce));
    assertTrue(slow.getMessage().contains("timed out"), slow.getMessage());
    assertThrows(
        IOException.class,
        () ->
            new CommandGpuEvidenceProvider(List.of("/nonexistent/collector"), Duration.ofSeconds(5))
                .collect(nonce));
  }
}
