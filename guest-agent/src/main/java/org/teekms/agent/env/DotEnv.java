package org.teekms.agent.env;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.teekms.agent.env.EnvSecretException.Reason;

/**
 * The {@code .env} files {@code teekms env encrypt} reads (docs/env-secrets.md §5). One assignment
 * per line: {@code [export ]NAME=VALUE}; blank lines and lines starting with {@code #} are skipped;
 * line ends LF or CRLF. VALUE is either unquoted (the rest of the line, surrounding blanks trimmed,
 * taken literally), single-quoted (literal up to the closing quote) or double-quoted (escapes
 * {@code \n \r \t \" \\ \$ \`}, any other escape is an error). After a closing quote only blanks
 * and a {@code #} comment may follow. Names follow {@link EnvVar#validName}; a name twice, more
 * than {@link EnvJson#MAX_ITEMS} variables, a value over {@link EnvVar#MAX_VALUE_BYTES} bytes or a
 * file over {@link #MAX_BYTES} is an error. Errors name the line (and the variable once its name is
 * valid), never a value.
 */
public final class DotEnv {
  public static final int MAX_BYTES = 2 * 1024 * 1024;

  private DotEnv() {}

  public static List<EnvVar> parse(byte[] file) throws EnvSecretException {
    if (file.length > MAX_BYTES) {
      throw invalid("the file is " + file.length + " bytes (at most " + MAX_BYTES + ")");
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(file)).toString();
    } catch (CharacterCodingException e) {
      throw invalid("the file is not UTF-8");
    }
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1);
    }
    List<EnvVar> vars = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    String[] lines = text.split("\n", -1);
    long total = 0;
    for (int i = 0; i < lines.length; i++) {
      int no = i + 1;
      String line =
          lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
      String s = line.strip();
      if (s.isEmpty() || s.startsWith("#")) {
        continue;
      }
      if (s.startsWith("export ") || s.startsWith("export\t")) {
        s = s.substring(7).stripLeading();
      }
      int eq = s.indexOf('=');
      if (eq < 0) {
        throw invalid("line " + no + ": expected NAME=VALUE");
      }
      String name = s.substring(0, eq).strip();
      if (!EnvVar.validName(name)) {
        throw invalid(
            "line "
                + no
                + ": invalid variable name (must match [A-Za-z_][A-Za-z0-9_]*, at most "
                + EnvVar.MAX_NAME_BYTES
                + " bytes)");
      }
      String value = value(s.substring(eq + 1).strip(), no, name);
      int valueBytes = value.getBytes(StandardCharsets.UTF_8).length;
      if (valueBytes > EnvVar.MAX_VALUE_BYTES) {
        throw invalid(
            "line "
                + no
                + ": value of "
                + name
                + " is "
                + valueBytes
                + " bytes (at most "
                + EnvVar.MAX_VALUE_BYTES
                + ")");
      }
      if (!seen.add(name)) {
        throw invalid("line " + no + ": " + name + " is set twice");
      }
      if (vars.size() >= EnvJson.MAX_ITEMS) {
        throw invalid("more than " + EnvJson.MAX_ITEMS + " variables");
      }
      total += name.length() + valueBytes;
      if (total > EnvJson.MAX_TOTAL_BYTES) {
        throw invalid("names and values exceed " + EnvJson.MAX_TOTAL_BYTES + " bytes");
      }
      vars.add(new EnvVar(name, value));
    }
    return vars;
  }

  private static String value(String raw, int no, String name) throws EnvSecretException {
    if (raw.isEmpty() || (raw.charAt(0) != '"' && raw.charAt(0) != '\'')) {
      return raw;
    }
    char quote = raw.charAt(0);
    StringBuilder out = new StringBuilder();
    int i = 1;
    boolean closed = false;
    while (i < raw.length()) {
      char c = raw.charAt(i++);
      if (c == quote) {
        closed = true;
        break;
      }
      if (quote == '"' && c == '\\') {
        if (i >= raw.length()) {
          break;
        }
        char e = raw.charAt(i++);
        switch (e) {
          case 'n' -> out.append('\n');
          case 'r' -> out.append('\r');
          case 't' -> out.append('\t');
          case '"', '\\', '$', '`' -> out.append(e);
          default -> throw invalid("line " + no + ": value of " + name + " has an unknown escape");
        }
        continue;
      }
      out.append(c);
    }
    if (!closed) {
      throw invalid(
          "line "
              + no
              + ": value of "
              + name
              + " has no closing quote (multi-line values: use \\n)");
    }
    String rest = raw.substring(i).strip();
    if (!rest.isEmpty() && !rest.startsWith("#")) {
      throw invalid("line " + no + ": unexpected text after the quoted value of " + name);
    }
    return out.toString();
  }

  private static EnvSecretException invalid(String why) {
    return new EnvSecretException(Reason.ENV_FILE_INVALID, ".env: " + why);
  }
}
