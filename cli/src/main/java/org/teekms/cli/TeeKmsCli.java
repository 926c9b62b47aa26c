package org.teekms.cli;

import org.teekms.cli.demo.DemoCommand;
import org.teekms.governance.cli.GovCommand;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code teekms} command line. Each subcommand is a thin adapter over a library module; exit
 * codes are stable: 0 = success / valid, 1 = verified and found invalid (or the operation failed),
 * 2 = usage error.
 */
@Command(
    name = "teekms",
    mixinStandardHelpOptions = true,
    versionProvider = TeeKmsCli.Version.class,
    description = {
      "tee-kms: key management for confidential AI.",
      "Shell completion (bash, zsh): source <(teekms generate-completion)"
    },
    subcommands = {
      VerifyCommand.class,
      MeasureCommand.class,
      CollateralCommand.class,
      GovCommand.class,
      KmsCommand.class,
      AuditCommand.class,
      CustodyCommand.class,
      EnvCommand.class,
      RotateCommand.class,
      VerifierCommand.class,
      DemoCommand.class,
      AutoComplete.GenerateCompletion.class
    })
public final class TeeKmsCli extends CommandGroup {

  @CommandLine.Option(
      names = OutputFormat.OPTION,
      scope = CommandLine.ScopeType.INHERIT,
      paramLabel = "table|json",
      description =
          "table: aligned tables for people (default when stdout is a terminal); json: the one JSON "
              + "document scripts read (default when piped).")
  OutputFormat.Mode output;

  public static void main(String[] args) {
    System.exit(newCommandLine().execute(args));
  }

  /** A configured command line, also used by tests to run commands in-process. */
  public static CommandLine newCommandLine() {
    CommandLine cli =
        new CommandLine(new TeeKmsCli())
            .setExecutionExceptionHandler(new CliErrors())
            .setParameterExceptionHandler(new UsageErrors());
    return cli.setExecutionStrategy(
        new OutputFormat(new UrlOptions(cli.getExecutionStrategy()), System.console() != null));
  }

  /**
   * {@code teekms --version}: the version and git commit the build baked in
   * (cli/scripts/version.sh).
   */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      java.util.Properties p = new java.util.Properties();
      try (java.io.InputStream in = TeeKmsCli.class.getResourceAsStream("version.properties")) {
        if (in != null) {
          p.load(in);
        }
      } catch (java.io.IOException e) {
        // an unreadable resource reads as unknown below
      }
      return new String[] {
        "teekms "
            + p.getProperty("version", "unknown version")
            + " (commit "
            + p.getProperty("commit", "unknown")
            + ", Java "
            + System.getProperty("java.version")
            + ")"
      };
    }
  }
}
