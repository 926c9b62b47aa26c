package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.RimStore;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.CollateralDirectory;
import org.teekms.crypto.Bytes;
import org.teekms.verifier.ExpectedIdentity;
import org.teekms.verifier.GpuRequirement;
import org.teekms.verifier.ResponseVerification;
import org.teekms.verifier.SignedText;

/**
 * {@link ResponseVerification} on truncated, oversized, mutated and random reports and signatures
 * (seeded): it never throws, never calls a changed input valid, and always returns the seven rows
 * with a failure as the reason.
 */
class ResponseVerificationFuzzTest {
  @TempDir Path dir;

  @Test
  void mutatedInputNeverThrowsAndIsNeverValid() throws Exception {
    SignedExchange x =
        SignedExchange.create(
            dir,
            HexFormat.of().parseHex("42".repeat(20)),
            SignedExchange.COMPOSE,
            SignedExchange.OS_IMAGE);
    ResponseVerification v =
        new ResponseVerification(
            new ResponseVerification.Settings(
                new DcapQuoteVerifier(SimulatedRaTls.TDX.rootCertificate()),
                CollateralDirectory.load(x.collateral()),
                Instant.now(),
                GpuEvidenceVerifier.builder(x.gpu().deviceRoot())
                    .revocation(RevocationChecker.disabled())
                    .rimStore(RimStore.load(x.rims(), x.gpu().rimRoot()))
                    .build(),
                new SignedText.Endpoint("POST", "/v1/chat/completions"),
                false,
                Optional.empty()));
    ExpectedIdentity id =
        ExpectedIdentity.explicit(
            Optional.empty(),
            Bytes.copyOf(x.composeHash()),
            Bytes.copyOf(SignedExchange.OS_IMAGE),
            Set.of(Bytes.copyOf(x.mrSystem())),
            QuotePolicy.builder().build(),
            new GpuRequirement(1, "", Optional.empty(), true));
    byte[] report = Files.readAllBytes(x.report());
    byte[] sig = Files.readAllBytes(x.signature());
    byte[] req = Files.readAllBytes(x.request());
    byte[] resp = Files.readAllBytes(x.response());
    assertTrue(v.verify(id, report, sig, req, resp).valid());
    Random rnd = new Random(20261202L);
    for (int i = 0; i < 300; i++) {
      byte[] r = report.clone();
      byte[] s = sig.clone();
      switch (i % 5) {
        case 0 -> r = java.util.Arrays.copyOf(r, rnd.nextInt(r.length)); // truncated
        case 1 -> s = java.util.Arrays.copyOf(s, rnd.nextInt(s.length));
        case 2 -> r[rnd.nextInt(r.length)] ^= (byte) (1 + rnd.nextInt(255)); // mutated
        case 3 -> {
          r = new byte[rnd.nextInt(4096)]; // random
          rnd.nextBytes(r);
        }
        default ->
            r =
                (new String(report, java.nio.charset.StandardCharsets.UTF_8)
                        .replace("\"info\"", "\"pad\":\"" + "x".repeat(1 << 20) + "\",\"info\""))
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      }
      ResponseVerification.Result result = v.verify(id, r, s, req, resp);
      assertEquals(7, result.checks().size());
      if (i % 5 == 4) {
        assertTrue(
            result.valid(), "an unknown extra field changes nothing that is signed or measured");
        continue;
      }
      if (i % 5 != 2) {
        assertFalse(result.valid(), "truncated or random input, case " + i);
      }
      // valid exactly when every row passed; otherwise the first failure has a code and a one-line
      // reason
      assertEquals(result.valid(), result.failure().isEmpty());
      result
          .failure()
          .ifPresent(
              f ->
                  assertTrue(
                      f.code() != null && !f.detail().isEmpty() && !f.detail().contains("\n")));
      assertEquals(result.valid(), result.toJson().get("valid").asBoolean());
    }
  }
}
