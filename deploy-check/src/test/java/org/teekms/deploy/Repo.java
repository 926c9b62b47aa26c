package org.teekms.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Files of the repository checkout the tests run in (the Maven reactor root). */
final class Repo {
  private Repo() {}

  static Path root() {
    Path root = Path.of(System.getProperty("teekms.repo", "..")).toAbsolutePath().normalize();
    if (!Files.isRegularFile(root.resolve("deploy/README.md"))) {
      throw new IllegalStateException("not the tee-kms repository root: " + root);
    }
    return root;
  }

  static Path path(String relative) {
    return root().resolve(relative);
  }

  static String text(String relative) {
    try {
      return Files.readString(path(relative), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
