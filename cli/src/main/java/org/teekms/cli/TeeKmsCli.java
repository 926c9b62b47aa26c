package org.teekms.cli;

import org.teekms.cli.demo.DemoCommand;
import org.teekms.governance.cli.GovCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code teekms} command line. Each subcommand is a thin adapter over a library module; exit codes are
 * stable: 0 = success / valid, 1 = verified and found invalid (or the operation failed), 2 = usage error.
 */
@Command(
    name = "teekms",
    mixinStandardHelpOptions = true,
    versionProvider = TeeKmsCli.Version.class,
    description = "tee-kms: key management for confidential AI.",
    subcommands = {VerifyCommand.class, MeasureCommand.class, CollateralCommand.class, GovCommand.class,
        KmsCommand.class, AuditCommand.class,
        RotateCommand.class,
        DemoCommand.class})
public final class TeeKmsCli extends CommandGroup {

  public static void main(String[] args) {
    System.exit(newCommandLine().execute(args));
  }

  /** A configured command line, also used by tests to run commands in-process. */
  public static CommandLine newCommandLine() {
    return new CommandLine(new TeeKmsCli());
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = TeeKmsCli.class.getPackage().getImplementationVersion();
      return new String[] {"teekms " + (v == null ? "development build" : v)};
    }
  }
}
