package org.teekms.cli.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A process the demo starts (anvil, the KMS): output to a log file, stopped on {@link #close()},
 * and stopped by a small shell watchdog if the demo's JVM dies without running its shutdown hooks,
 * so nothing is left listening.
 */
final class ChildProcess implements AutoCloseable {
  private static final String WATCHDOG =
      "jvm=$1; shift; \"$@\" & c=$!; "
          + "trap 'kill $c 2>/dev/null; wait $c; exit 0' TERM INT; "
          + "while kill -0 $jvm 2>/dev/null && kill -0 $c 2>/dev/null; do sleep 0.5; done; "
          + "kill $c 2>/dev/null; wait $c";

  private final String name;
  private final Process process;
  private final Path log;

  private ChildProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  static ChildProcess start(String name, List<String> command, Path log, Path workDir)
      throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "sh",
                "-c",
                WATCHDOG,
                name + "-watchdog",
                Long.toString(ProcessHandle.current().pid())));
    cmd.addAll(command);
    Files.createDirectories(log.getParent());
    Process p =
        new ProcessBuilder(cmd)
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    ChildProcess child = new ChildProcess(name, p, log);
    Runtime.getRuntime().addShutdownHook(new Thread(child::close, name + "-stop"));
    return child;
  }

  Path log() {
    return log;
  }

  /** The last lines of the log, for error messages. */
  String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  /**
   * Waits until {@code 127.0.0.1:port} accepts connections, ticking; fails if the process exits
   * first.
   */
  void awaitPort(int port, Duration timeout, Runnable tick)
      throws IOException, InterruptedException {
    awaitCondition(
        () -> {
          try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return true;
          } catch (IOException e) {
            return false;
          }
        },
        timeout,
        tick,
        name + " did not listen on 127.0.0.1:" + port);
  }

  /** Waits until the log contains {@code marker}. */
  void awaitLog(String marker, Duration timeout, Runnable tick)
      throws IOException, InterruptedException {
    awaitCondition(
        () -> {
          try {
            return Files.readString(log).contains(marker);
          } catch (IOException e) {
            return false;
          }
        },
        timeout,
        tick,
        name + " did not log \"" + marker + "\"");
  }

  interface Condition {
    boolean holds() throws IOException;
  }

  private void awaitCondition(Condition condition, Duration timeout, Runnable tick, String failure)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long nextTick =
        System.nanoTime() + TimeUnit.SECONDS.toNanos(2); // dots only for waits that take a while
    while (System.nanoTime() < deadline) {
      if (condition.holds()) {
        return;
      }
      if (!process.isAlive()) {
        throw new IOException(
            name + " exited (status " + process.exitValue() + "); last log lines:\n" + tail(25));
      }
      if (System.nanoTime() >= nextTick) {
        tick.run();
        nextTick = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      }
      Thread.sleep(200);
    }
    throw new IOException(
        failure
            + " within "
            + timeout.toSeconds()
            + " s; last log lines ("
            + log
            + "):\n"
            + tail(25));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroy(); // SIGTERM to the watchdog, which stops the child and waits for it
      try {
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.descendants().forEach(ProcessHandle::destroyForcibly);
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
