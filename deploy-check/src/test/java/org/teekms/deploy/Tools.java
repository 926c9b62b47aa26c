package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * External tools the deploy checks run (systemd-analyze, kubectl, kubeconform). `.ci/run` installs
 * them and sets {@value #REQUIRE}, so a missing tool fails CI; a developer build without them skips
 * those checks and says why.
 */
final class Tools {
  static final String REQUIRE = "deploy-check.require-tools";

  private Tools() {}

  /**
   * The tool's path on PATH (or in the given extra directories), else a failed (CI) or skipped
   * test.
   */
  static Path require(String name, String install, Path... extra) {
    Optional<Path> found = find(name, extra);
    if (found.isPresent()) {
      return found.get();
    }
    String why = name + " is not installed (" + install + ")";
    if (Boolean.getBoolean(REQUIRE)) {
      fail(why + "; -D" + REQUIRE + " is set");
    }
    Assumptions.abort(why + ": skipped; .ci/run installs it and makes this check mandatory");
    throw new AssertionError("unreachable");
  }

  static Optional<Path> find(String name, Path... extra) {
    for (Path dir : extra) {
      Path p = dir.resolve(name);
      if (Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return Optional.of(Path.of(dir, name));
      }
    }
    return Optional.empty();
  }

  interface InDir<T> {
    T apply(Path dir) throws Exception;
  }

  /**
   * Runs work in a fresh temporary directory, deleted afterwards without following links (which may
   * leave it).
   */
  static <T> T inTempDir(InDir<T> work) throws Exception {
    Path dir = Files.createTempDirectory("deploy-check-");
    try {
      return work.apply(dir);
    } finally {
      try (var walk = Files.walk(dir)) {
        for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  record Result(int exit, String output) {}

  /** Runs a command (stdin closed, stderr merged into stdout) with a time limit. */
  static Result run(Path dir, List<String> command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("deploy-check-", ".out");
    try {
      Process p =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        fail(String.join(" ", command) + ": no answer in 120 s");
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
