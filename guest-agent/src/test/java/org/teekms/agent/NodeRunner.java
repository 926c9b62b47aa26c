package org.teekms.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the third-party JS clients in src/test/node with the machine's own node: installs them
 * module-locally with {@code npm ci} from the committed package-lock.json (once), and runs scripts
 * with a time limit.
 */
public final class NodeRunner {
  static final Path DIR = Path.of("src/test/node").toAbsolutePath();

  public record Result(int exit, String stdout, String stderr) {}

  private NodeRunner() {}

  public static synchronized void install() throws Exception {
    if (Files.isDirectory(DIR.resolve("node_modules/@phala/dstack-sdk"))
        && Files.isDirectory(DIR.resolve("node_modules/ethers"))) {
      return;
    }
    Result r = run(List.of("npm", "ci", "--no-audit", "--no-fund"), Map.of(), 300);
    if (r.exit() != 0) {
      throw new IllegalStateException("npm ci failed in " + DIR + ": " + r.stderr());
    }
  }

  public static Result node(String script, Map<String, String> env, List<String> args)
      throws Exception {
    install();
    List<String> cmd = new ArrayList<>(List.of("node", script));
    cmd.addAll(args);
    return run(cmd, env, 120);
  }

  private static Result run(List<String> cmd, Map<String, String> env, int timeoutSeconds)
      throws Exception {
    Path out = Files.createTempFile("node-out", ".txt");
    Path err = Files.createTempFile("node-err", ".txt");
    try {
      ProcessBuilder pb =
          new ProcessBuilder(cmd)
              .directory(DIR.toFile())
              .redirectOutput(out.toFile())
              .redirectError(err.toFile());
      pb.environment().putAll(env);
      Process p = pb.start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(cmd + " timed out after " + timeoutSeconds + " s");
      }
      return new Result(
          p.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
