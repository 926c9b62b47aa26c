package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A malformed URL in any URL option is a usage error: exit 2, the option named, no stack trace,
 * nothing run.
 */
class UrlOptionsTest {
  @Test
  void problemsAreNamed() {
    assertNull(UrlOptions.problem("https://api.trustedservices.intel.com"));
    assertNull(UrlOptions.problem("http://127.0.0.1:8545"));
    assertEquals("no scheme", UrlOptions.problem("pccs.example:8081"));
    assertEquals("no host", UrlOptions.problem("https:///sgx"));
    assertTrue(UrlOptions.problem("ftp://x").startsWith("scheme 'ftp' is not one of"));
    assertTrue(UrlOptions.problem("https://exa mple").contains("at index"));
    assertEquals("port 99999 out of range", UrlOptions.problem("http://h:99999"));
  }

  @Test
  void malformedUrlOptionsExitWithUsageError(@TempDir Path dir) throws Exception {
    Path quote = Files.write(dir.resolve("q.bin"), new byte[] {1, 2, 3});
    String[][] table = {
      {
        "collateral",
        "fetch",
        "--quote",
        quote.toString(),
        "--pccs",
        "pccs.example:8081",
        "--out",
        dir.toString()
      },
      {
        "collateral",
        "fetch",
        "--quote",
        quote.toString(),
        "--pccs",
        "htps:/x",
        "--out",
        dir.toString()
      },
      {
        "gov",
        "show-registry",
        "--rpc-url",
        "127.0.0.1:8545",
        "--registry",
        "0x0000000000000000000000000000000000000001"
      },
    };
    for (String[] args : table) {
      StringWriter err = new StringWriter();
      StringWriter out = new StringWriter();
      CommandLine cli = TeeKmsCli.newCommandLine();
      cli.setErr(new PrintWriter(err, true));
      cli.setOut(new PrintWriter(out, true));
      assertEquals(2, cli.execute(args), String.join(" ", args) + ": " + err);
      String first = err.toString().lines().findFirst().orElse("");
      assertTrue(first.matches("teekms [a-z -]+: --(pccs|rpc-url) '.*' is not a URL: .*"), first);
      assertFalse(
          err.toString().contains("\tat ") || err.toString().contains("Exception"), err.toString());
      assertEquals("", out.toString(), "the command must not have run");
    }
  }
}
