package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** `teekms --version` and shell completion. */
class TopLevelCommandTest {
  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cli = TeeKmsCli.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void versionPrintsTheBuildsVersionAndGitCommit() {
    Run r = run("--version");
    assertEquals(0, r.exit(), r.err());
    // Baked in by cli/scripts/version.sh: the Maven version and a 12-digit commit (or "unknown"
    // outside git).
    assertTrue(
        r.out()
            .matches(
                "(?s)teekms \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(commit ([0-9a-f]{12}(-dirty)?|unknown), "
                    + "Java [^)]+\\)\\s*"),
        r.out());
  }

  @Test
  void completionScriptCoversTheSubcommands() {
    Run r = run("generate-completion");
    assertEquals(0, r.exit(), r.err());
    assertTrue(
        r.out().contains("complete -F _complete_teekms"), "a bash completion function for teekms");
    for (String sub :
        new String[] {"verify", "gov", "kms", "demo", "collateral", "audit", "rotate"}) {
      assertTrue(r.out().contains(sub), sub);
    }
    assertTrue(run("--help").out().contains("source <(teekms generate-completion)"));
  }
}
