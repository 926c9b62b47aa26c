package org.teekms.cli;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * A malformed URL is a usage error (exit 2, one line naming the option), found before a command
 * runs rather than as a connection failure deep inside it. Applies to every option labelled {@code
 * URL} (--pccs, --rpc-url, --ocsp, …), whether given on the command line or taken from its default
 * (e.g. TEEKMS_RPC_URL).
 */
final class UrlOptions implements CommandLine.IExecutionStrategy {
  private static final Set<String> SCHEMES = Set.of("http", "https", "ws", "wss");

  private final CommandLine.IExecutionStrategy next;

  UrlOptions(CommandLine.IExecutionStrategy next) {
    this.next = next;
  }

  @Override
  public int execute(CommandLine.ParseResult parsed) {
    for (CommandLine cmd : parsed.asCommandLineList()) {
      for (OptionSpec option : cmd.getCommandSpec().options()) {
        if ("URL".equals(option.paramLabel())
            && option.getValue() instanceof String value
            && !value.isEmpty()) {
          String problem = problem(value);
          if (problem != null) {
            throw new ParameterException(
                cmd,
                option.longestName()
                    + " '"
                    + value
                    + "' is not a URL: "
                    + problem
                    + " (expected e.g. https://host:port/path)");
          }
        }
      }
    }
    return next.execute(parsed);
  }

  /** Why a value is not an http(s)/ws(s) URL with a host, or null when it is one. */
  static String problem(String value) {
    if (!value.contains("://")) {
      return "no scheme";
    }
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      return e.getReason() + " at index " + e.getIndex();
    }
    if (uri.getScheme() == null) {
      return "no scheme";
    }
    if (!SCHEMES.contains(uri.getScheme().toLowerCase(java.util.Locale.ROOT))) {
      return "scheme '" + uri.getScheme() + "' is not one of " + new java.util.TreeSet<>(SCHEMES);
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      return "no host";
    }
    if (uri.getPort() > 65535) {
      return "port " + uri.getPort() + " out of range";
    }
    return null;
  }
}
