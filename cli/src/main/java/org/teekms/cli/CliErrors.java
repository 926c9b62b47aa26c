package org.teekms.cli;

import io.grpc.StatusRuntimeException;
import java.io.FileNotFoundException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.teekms.crypto.NetworkErrors;
import picocli.CommandLine;

/**
 * The last line of defence against stack traces: an exception that escapes a command becomes one
 * line on stderr, {@code teekms <command>: <what failed> (<why>)}, exit 1, with the causes told in
 * words (host, file, refusal) rather than Java class names. Commands should still say what they
 * were doing; this keeps whatever they did not anticipate readable. {@code TEEKMS_DEBUG=1} prints
 * the stack trace as well.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler {
  @Override
  public int handleExecutionException(
      Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + describe(e));
    if ("1".equals(System.getenv("TEEKMS_DEBUG"))) {
      e.printStackTrace(cmd.getErr());
    }
    cmd.getErr().flush();
    return 1;
  }

  /** One line: each distinct message along the cause chain, the root cause in words. */
  static String describe(Throwable t) {
    List<String> parts = new ArrayList<>();
    Map<Throwable, Boolean> seen = new IdentityHashMap<>();
    for (Throwable c = t; c != null && seen.put(c, true) == null; c = c.getCause()) {
      String part = words(c);
      if (part != null && !part.isBlank() && parts.stream().noneMatch(p -> p.contains(part))) {
        parts.add(part);
      }
    }
    if (parts.isEmpty()) {
      return "failed without a reason ("
          + t.getClass().getSimpleName()
          + "); TEEKMS_DEBUG=1 shows where";
    }
    String line =
        parts.get(0)
            + (parts.size() > 1
                ? " (" + String.join(": ", parts.subList(1, parts.size())) + ")"
                : "");
    return line.replaceAll("\\s*\\R\\s*", " ");
  }

  private static String words(Throwable c) {
    String m = c.getMessage();
    if (c instanceof StatusRuntimeException s) {
      String d = s.getStatus().getDescription();
      return s.getStatus().getCode() + (d == null ? "" : ": " + d);
    }
    java.util.Optional<String> network = NetworkErrors.words(c);
    if (network.isPresent()) {
      return network.get();
    }
    if (c instanceof NoSuchFileException || c instanceof FileNotFoundException) {
      return "no such file: " + m;
    }
    if (c instanceof AccessDeniedException) {
      return "permission denied: " + m;
    }
    // Wrappers whose message is just the cause's toString() add nothing.
    if (m != null && c.getCause() != null && m.equals(c.getCause().toString())) {
      return null;
    }
    return m;
  }
}
