package org.teekms.attest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real attestation fixtures in the checkout's {@code testdata/} (see its README for each file's
 * source and licence). The build passes their location as the system property {@code
 * teekms-fixtures}; a missing folder fails the test rather than skipping it, so CI can never pass
 * without having verified the real quotes and reports.
 */
public final class Fixtures {
  private Fixtures() {}

  public static Path root() {
    String dir = System.getProperty("teekms-fixtures");
    if (dir == null) {
      dir = "../testdata";
    }
    Path root = Path.of(dir).toAbsolutePath().normalize();
    if (!Files.isDirectory(root)) {
      throw new IllegalStateException(
          "attestation fixtures not found at " + root + " (set -Dteekms-fixtures=DIR)");
    }
    return root;
  }

  public static Path path(String relative) {
    Path p = root().resolve(relative);
    if (!Files.exists(p)) {
      throw new IllegalStateException("missing fixture " + p);
    }
    return p;
  }

  public static byte[] bytes(String relative) {
    try {
      return Files.readAllBytes(path(relative));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String text(String relative) {
    return new String(bytes(relative), StandardCharsets.UTF_8);
  }
}
