package org.teekms.cli;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Recognises the files people hand to the wrong option, so the error can say what the file is
 * instead.
 */
final class InputFiles {
  private static final Pattern PEM = Pattern.compile("\\A\\s*-----BEGIN ([A-Z0-9 ]{1,40})-----");

  private InputFiles() {}

  /** The PEM label ("CERTIFICATE", "PRIVATE KEY", …) if the file is PEM text. */
  static Optional<String> pemLabel(byte[] content) {
    String head = new String(content, 0, Math.min(content.length, 80), StandardCharsets.US_ASCII);
    Matcher m = PEM.matcher(head);
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  /** "a PEM certificate" for label CERTIFICATE: how to name a PEM file in an error. */
  static String describePem(String label) {
    String l = label.toLowerCase(java.util.Locale.ROOT);
    return (l.matches("[aeiou].*") ? "an " : "a ") + "PEM " + l;
  }
}
