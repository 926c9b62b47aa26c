package org.teekms.kms.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * A real PostgreSQL server (zonky's embedded binaries) whose data lives in a directory of ours, so
 * the KMS runs with one command when no database is configured, and keeps its state across
 * restarts. Listens on loopback only.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(EmbeddedPostgresServer.class);

  private final EmbeddedPostgres postgres;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  /**
   * Starts PostgreSQL on {@code dataDirectory} (created and initialised on first use, reused
   * afterwards).
   *
   * @param port 0 for a free port
   */
  public static EmbeddedPostgresServer start(Path dataDirectory, int port) {
    try {
      Files.createDirectories(dataDirectory);
      stopAbandonedServer(dataDirectory, Duration.ofSeconds(60));
      EmbeddedPostgres.Builder builder =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDirectory)
              .setCleanDataDirectory(false)
              .setServerConfig("listen_addresses", "127.0.0.1")
              .setServerConfig("max_connections", "100")
              // The library's test-oriented defaults (fsync off via -F, synchronous_commit off)
              // would let a crash lose
              // committed grants and their audit entries after the keys were released, or corrupt
              // the data directory.
              // Durable settings; "-c fsync=on" follows "-F" on the command line and so takes
              // precedence.
              .setServerConfig("fsync", "on")
              .setServerConfig("synchronous_commit", "on");
      if (port > 0) {
        builder.setPort(port);
      }
      return new EmbeddedPostgresServer(builder.start());
    } catch (IOException e) {
      throw new UncheckedIOException("could not start embedded PostgreSQL in " + dataDirectory, e);
    }
  }

  /**
   * A KMS killed with SIGKILL (or by the OOM killer) cannot stop the PostgreSQL it started: that
   * server keeps running on the data directory, and the next start on it fails ("lock file
   * postmaster.pid already exists"), so the KMS could not come back by itself. Before starting, in
   * this order (the first that applies decides):
   *
   * <ol>
   *   <li>no {@code postmaster.pid}, or the process it names is not running: nothing to do
   *       (PostgreSQL itself handles a stale pid file and recovers from its WAL);
   *   <li>the library's lock file ({@code epg-lock}) is held by a live process: another KMS owns
   *       this directory; refused, its server is left alone;
   *   <li>the process is not a {@code postgres} started on this directory: refused (a recycled pid
   *       is never signalled);
   *   <li>otherwise the server was abandoned by a dead KMS: it is asked to shut down (SIGTERM, a
   *       clean "smart" shutdown: its clients died with the KMS) and awaited for at most {@code
   *       wait}, after which it is refused.
   * </ol>
   */
  static void stopAbandonedServer(Path dataDirectory, Duration wait) throws IOException {
    Path pidFile = dataDirectory.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    List<String> lines = Files.readAllLines(pidFile);
    long pid;
    try {
      pid = Long.parseLong(lines.get(0).trim());
    } catch (RuntimeException unreadable) {
      return; // PostgreSQL decides what to do with a malformed pid file
    }
    Optional<ProcessHandle> server = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    if (server.isEmpty()) {
      return;
    }
    try (FileChannel lock =
        FileChannel.open(
            dataDirectory.resolve("epg-lock"),
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE)) {
      FileLock held;
      try {
        held = lock.tryLock();
      } catch (OverlappingFileLockException inThisJvm) {
        held = null;
      }
      if (held == null) {
        throw new IOException(
            "embedded PostgreSQL in "
                + dataDirectory
                + " is owned by another running process "
                + "(its lock file is held); stop that KMS first");
      }
      held.release();
    }
    String command = server.get().info().command().orElse("");
    String arguments = String.join(" ", server.get().info().arguments().orElse(new String[0]));
    String ownDirectory = lines.size() > 1 ? lines.get(1).trim() : "";
    if (!command.endsWith("/postgres")
        || !(arguments.contains(dataDirectory.toString())
            || Path.of(ownDirectory).equals(dataDirectory.toAbsolutePath()))) {
      throw new IOException(
          "postmaster.pid in "
              + dataDirectory
              + " names running process "
              + pid
              + " that is not this directory's PostgreSQL; remove the file if that PostgreSQL is gone");
    }
    LOG.warnf(
        "embedded PostgreSQL (pid %d) in %s was left running by a KMS that did not stop it (killed?): "
            + "stopping it before starting again",
        pid, dataDirectory);
    server.get().destroy();
    try {
      server.get().onExit().get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IOException(
          "embedded PostgreSQL (pid "
              + pid
              + ") left running in "
              + dataDirectory
              + " did not stop within "
              + wait.toSeconds()
              + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(
          "interrupted while stopping the PostgreSQL left running in " + dataDirectory);
    } catch (ExecutionException e) {
      throw new IOException("could not wait for PostgreSQL (pid " + pid + ") to stop", e);
    }
  }

  /** The built-in superuser on the built-in database; reachable from loopback only. */
  public DatabaseCoordinates coordinates() {
    return new DatabaseCoordinates(
        "127.0.0.1", postgres.getPort(), "postgres", "postgres", "postgres");
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException("could not stop embedded PostgreSQL", e);
    }
  }
}
