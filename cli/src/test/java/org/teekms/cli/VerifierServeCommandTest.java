package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code teekms verifier serve}: bad options are one-line usage errors before anything listens. */
class VerifierServeCommandTest {
  @TempDir Path dir;

  @Test
  void badOptionsAreUsageErrors() throws Exception {
    VerifyResponseCommandTest.Run none =
        VerifyResponseCommandTest.run(List.of("verifier", "serve"));
    assertEquals(2, none.exit());
    assertTrue(none.err().contains("give exactly one of --collateral or --pccs"), none.err());
    VerifyResponseCommandTest.Run chain =
        VerifyResponseCommandTest.run(
            List.of(
                "verifier",
                "serve",
                "--collateral",
                dir.toString(),
                "--rpc-url",
                "http://127.0.0.1:1"));
    assertEquals(2, chain.exit());
    assertTrue(
        chain.err().contains("a chain needs --rpc-url, --chain-id and --registry"), chain.err());
    VerifyResponseCommandTest.Run url =
        VerifyResponseCommandTest.run(List.of("verifier", "serve", "--pccs-url", "ht!tp:/x"));
    assertEquals(2, url.exit());
    assertTrue(url.err().contains("--pccs-url 'ht!tp:/x' is not a URL"), url.err());
    VerifyResponseCommandTest.Run both =
        VerifyResponseCommandTest.run(
            List.of(
                "verifier",
                "serve",
                "--pccs-url",
                "https://pccs.example",
                "--collateral",
                dir.toString()));
    assertEquals(2, both.exit());
    assertTrue(both.err().contains("give one of --pccs-url, --pccs or --collateral"), both.err());
    VerifyResponseCommandTest.Run kms =
        VerifyResponseCommandTest.run(
            List.of("verifier", "serve", "--collateral", dir.toString(), "--kms", "kms.example"));
    assertEquals(2, kms.exit());
    assertTrue(kms.err().contains("--kms must be HOST:PORT, got kms.example"), kms.err());
    assertEquals(2, VerifyResponseCommandTest.run(List.of("verifier")).exit());
  }
}
