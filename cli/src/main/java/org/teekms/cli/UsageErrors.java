package org.teekms.cli;

import java.io.PrintWriter;
import picocli.CommandLine;

/**
 * A usage error is one line saying what is wrong, then where the help is: the full usage text
 * buries the reason under forty lines of options. Exit 2, as picocli's default.
 */
final class UsageErrors implements CommandLine.IParameterExceptionHandler {
  @Override
  public int handleParseException(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    err.println(
        cmd.getCommandSpec().qualifiedName()
            + ": "
            + e.getMessage().replaceAll("\\s*\\R\\s*", " "));
    CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
    err.println("(see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
    err.flush();
    return cmd.getCommandSpec().exitCodeOnInvalidInput();
  }
}
