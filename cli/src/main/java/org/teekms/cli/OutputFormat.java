package org.teekms.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;

/**
 * {@code --output table|json} for every command: commands print one JSON document (the stable,
 * scriptable contract); with {@code table} that document is shown as aligned human-readable tables
 * instead. The default is {@code table} when stdout is a terminal and {@code json} when it is piped
 * or redirected, so scripts keep getting JSON. Output that is not one JSON document (help,
 * completion scripts, {@code demo}'s steps) passes through unchanged, and {@code demo} streams as
 * before. Exit codes do not change.
 */
final class OutputFormat implements CommandLine.IExecutionStrategy {
  /** The option's values, as typed. */
  enum Mode {
    table,
    json
  }

  static final String OPTION = "--output";

  /** Commands that stream their output as they go (buffering would hide progress). */
  private static final Set<String> STREAMING = Set.of("demo", "generate-completion");

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final CommandLine.IExecutionStrategy next;
  private final boolean terminal;

  OutputFormat(CommandLine.IExecutionStrategy next, boolean terminal) {
    this.next = next;
    this.terminal = terminal;
  }

  @Override
  public int execute(CommandLine.ParseResult parsed) {
    Mode mode = terminal ? Mode.table : Mode.json;
    CommandLine.ParseResult last = parsed;
    for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption(OPTION)) {
        mode = p.matchedOptionValue(OPTION, mode);
      }
      last = p;
    }
    CommandLine root = parsed.commandSpec().commandLine();
    if (mode == Mode.json
        || STREAMING.contains(last.commandSpec().name())
        || helpRequested(parsed)) {
      return next.execute(parsed);
    }
    PrintWriter out = root.getOut();
    StringWriter buffer = new StringWriter();
    setOut(root, new PrintWriter(buffer, true));
    try {
      return next.execute(parsed);
    } finally {
      setOut(root, out);
      out.print(render(buffer.toString()));
      out.flush();
    }
  }

  private static boolean helpRequested(CommandLine.ParseResult parsed) {
    for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
      if (p.isUsageHelpRequested() || p.isVersionHelpRequested()) {
        return true;
      }
    }
    return false;
  }

  /** picocli hands each command its own writer: set it on the whole tree. */
  private static void setOut(CommandLine cli, PrintWriter out) {
    cli.setOut(out);
  }

  /** One JSON document as tables; anything else unchanged. */
  static String render(String text) {
    JsonNode doc;
    try {
      doc = JSON.readTree(text);
    } catch (Exception e) {
      return text;
    }
    if (doc == null || !(doc.isObject() || doc.isArray())) {
      return text;
    }
    StringBuilder sb = new StringBuilder();
    if (doc.isObject()) {
      object(doc, "", sb);
    } else {
      array("items", doc, "", sb);
    }
    return sb.toString();
  }

  private static void object(JsonNode o, String indent, StringBuilder sb) {
    int width = 0;
    for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
      width = Math.max(width, it.next().length());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      JsonNode v = f.getValue();
      if (v.isObject() && !v.isEmpty()) {
        sb.append(indent).append(f.getKey()).append(":\n");
        object(v, indent + "  ", sb);
      } else if (v.isArray() && !v.isEmpty() && !allScalar(v)) {
        array(f.getKey(), v, indent, sb);
      } else {
        sb.append(indent).append(pad(f.getKey(), width)).append("  ");
        if (v.isArray() && lineLength(v) > 100) {
          sb.append('\n');
          v.forEach(e -> sb.append(indent).append("  - ").append(scalar(e)).append('\n'));
          continue;
        }
        sb.append(v.isArray() ? joined(v) : scalar(v)).append('\n');
      }
    }
  }

  /**
   * An array of objects as a table (columns: every field any row has), anything else one item per
   * line.
   */
  private static void array(String name, JsonNode a, String indent, StringBuilder sb) {
    sb.append(indent).append(name).append(":\n");
    boolean objects = true;
    for (JsonNode e : a) {
      objects &= e.isObject();
    }
    if (!objects) {
      a.forEach(
          e ->
              sb.append(indent)
                  .append("  - ")
                  .append(e.isValueNode() ? scalar(e) : e.toString())
                  .append('\n'));
      return;
    }
    Set<String> columns = new LinkedHashSet<>();
    a.forEach(e -> e.fieldNames().forEachRemaining(columns::add));
    List<String> cols = new ArrayList<>(columns);
    List<List<String>> rows = new ArrayList<>();
    rows.add(cols.stream().map(c -> c.toUpperCase(java.util.Locale.ROOT)).toList());
    for (JsonNode e : a) {
      rows.add(
          cols.stream()
              .map(
                  c -> {
                    JsonNode v = e.get(c);
                    return v == null
                        ? ""
                        : v.isValueNode()
                            ? scalar(v)
                            : v.isArray() && allScalar(v) ? joined(v) : v.toString();
                  })
              .toList());
    }
    int[] widths = new int[cols.size()];
    for (List<String> r : rows) {
      for (int i = 0; i < widths.length; i++) {
        widths[i] = Math.max(widths[i], r.get(i).length());
      }
    }
    for (List<String> r : rows) {
      StringBuilder line = new StringBuilder(indent).append("  ");
      for (int i = 0; i < widths.length; i++) {
        line.append(i == widths.length - 1 ? r.get(i) : pad(r.get(i), widths[i]) + "  ");
      }
      sb.append(line.toString().stripTrailing()).append('\n');
    }
  }

  private static boolean allScalar(JsonNode a) {
    for (JsonNode e : a) {
      if (!e.isValueNode()) {
        return false;
      }
    }
    return true;
  }

  private static int lineLength(JsonNode a) {
    return joined(a).length();
  }

  private static String joined(JsonNode a) {
    if (a.isEmpty()) {
      return "(none)";
    }
    List<String> parts = new ArrayList<>();
    a.forEach(e -> parts.add(scalar(e)));
    return String.join(", ", parts);
  }

  private static String scalar(JsonNode v) {
    return v.isNull() ? "-" : v.asText();
  }

  private static String pad(String s, int width) {
    return s.length() >= width ? s : s + " ".repeat(width - s.length());
  }
}
