package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.teekms.attest.Fixtures;
import picocli.CommandLine;

/**
 * {@code --output table|json}: JSON for scripts (the default off a terminal), tables for people
 * (the default on one); text that is not one JSON document passes unchanged; exit codes do not
 * depend on the format.
 */
class OutputFormatTest {
  private static final String QUOTE = Fixtures.path("dcap-qvl/tdx_quote_v4.bin").toString();
  private static final String COLLATERAL =
      Fixtures.path("dcap-qvl/tdx_quote_v4_collateral.json").toString();

  record Run(int exit, String out) {}

  private static Run run(boolean terminal, String... args) {
    CommandLine cli = TeeKmsCli.newCommandLine();
    // The strategy's terminal default, as a real terminal would have it.
    cli.setExecutionStrategy(new OutputFormat(new UrlOptions(new CommandLine.RunLast()), terminal));
    StringWriter out = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(new StringWriter(), true));
    return new Run(cli.execute(args), out.toString());
  }

  @Test
  void tablesRenderObjectsArraysAndNestedObjects() {
    String table =
        OutputFormat.render(
            "{\"ok\":true,\"kmsId\":\"k\",\"chain\":{\"quorum\":2,\"pinnedBlock\":null},"
                + "\"rpc\":[{\"endpoint\":\"https://a\",\"up\":true},{\"endpoint\":\"https://bb\",\"up\":false,"
                + "\"error\":\"timed out\"}],\"missing\":[],\"ids\":[1,2]}");
    assertEquals(
        """
        ok       true
        kmsId    k
        chain:
          quorum       2
          pinnedBlock  -
        rpc:
          ENDPOINT    UP     ERROR
          https://a   true
          https://bb  false  timed out
        missing  (none)
        ids      1, 2
        """,
        table);
  }

  @Test
  void textThatIsNotOneJsonDocumentPassesUnchanged() {
    assertEquals("step 1 ok\nstep 2 ok\n", OutputFormat.render("step 1 ok\nstep 2 ok\n"));
    assertEquals("{\"a\":1}\n{\"b\":2}\n", OutputFormat.render("{\"a\":1}\n{\"b\":2}\n"));
    assertEquals("", OutputFormat.render(""));
  }

  @Test
  void jsonOffATerminalTablesOnOneAndTheOptionWins() {
    String[] args = {
      "verify",
      "quote",
      "--quote",
      QUOTE,
      "--collateral",
      COLLATERAL,
      "--at",
      "2025-07-19T10:00:34Z"
    };
    Run piped = run(false, args);
    assertTrue(piped.out().strip().startsWith("{"), piped.out());
    Run terminal = run(true, args);
    assertFalse(terminal.out().contains("{\""), terminal.out());
    assertTrue(
        terminal.out().lines().anyMatch(l -> l.matches("valid\\s+(true|false)")), terminal.out());
    assertTrue(terminal.out().contains("td:\n  mrTd"), terminal.out());
    assertEquals(piped.exit(), terminal.exit(), "the format does not change the exit code");

    String[] json =
        java.util.stream.Stream.concat(
                java.util.Arrays.stream(args), java.util.stream.Stream.of("--output", "json"))
            .toArray(String[]::new);
    assertTrue(run(true, json).out().strip().startsWith("{"), "--output json on a terminal");
    String[] table =
        java.util.stream.Stream.concat(
                java.util.Arrays.stream(args), java.util.stream.Stream.of("--output", "table"))
            .toArray(String[]::new);
    assertFalse(run(false, table).out().contains("{\""), "--output table when piped");
  }

  @Test
  void helpIsNeverRewritten() {
    Run help = run(true, "kms", "status", "--help");
    assertEquals(0, help.exit());
    assertTrue(help.out().contains("Usage: teekms kms status"), help.out());
    assertTrue(help.out().contains("--output=table|json"), help.out());
  }
}
