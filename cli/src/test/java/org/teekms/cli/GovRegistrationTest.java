package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * `teekms gov` is wired into the root command (its behaviour is tested end to end in
 * governance-contracts).
 */
class GovRegistrationTest {
  @Test
  void govIsASubcommandWithTheOperatorCommands() {
    CommandLine cli = TeeKmsCli.newCommandLine();
    StringWriter out = new StringWriter();
    cli.setOut(new PrintWriter(out));
    assertEquals(0, cli.execute("gov", "--help"));
    for (String sub :
        new String[] {
          "deploy-registry",
          "register-app",
          "add-compose-hash",
          "remove-compose-hash",
          "add-os-image",
          "add-kms-measurement",
          "add-kms-device",
          "set-tcb-policy",
          "set-gpu-policy",
          "rotate-keys",
          "set-min-key-version",
          "show-app",
          "history"
        }) {
      assertTrue(out.toString().contains(sub), sub + " missing from: " + out);
    }
  }

  @Test
  void govAloneIsAUsageError() {
    CommandLine cli = TeeKmsCli.newCommandLine();
    cli.setErr(new PrintWriter(new StringWriter()));
    assertEquals(2, cli.execute("gov"));
  }
}
