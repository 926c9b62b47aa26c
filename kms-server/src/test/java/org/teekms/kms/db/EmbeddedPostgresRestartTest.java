package org.teekms.kms.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A KMS that started its own PostgreSQL and was killed with SIGKILL leaves that server running on
 * the data directory (found by {@code bench/faults embedded}: the restarted KMS failed with "lock
 * file postmaster.pid already exists"). The kill is done to a real child JVM here.
 */
class EmbeddedPostgresRestartTest {

  /**
   * The child: starts PostgreSQL on args[0], writes a marker row, says "ready" and waits to be
   * killed.
   */
  public static void main(String[] args) throws Exception {
    EmbeddedPostgresServer server = EmbeddedPostgresServer.start(Path.of(args[0]), 0);
    try (Connection c = connect(server);
        Statement st = c.createStatement()) {
      st.execute("CREATE TABLE marker (v text)");
      st.execute("INSERT INTO marker VALUES ('written before the kill')");
    }
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(600_000);
  }

  @Test
  void aKmsKilledWithSigkillLeavesAPostgresThatTheNextStartStopsAndReplaces(@TempDir Path dir)
      throws Exception {
    Path pgdata = dir.resolve("pgdata");
    Process child =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                EmbeddedPostgresRestartTest.class.getName(),
                pgdata.toString())
            .redirectErrorStream(true)
            .start();
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null && !line.equals("ready")) {
        // PostgreSQL's and the library's log lines
      }
      assertEquals("ready", line, "the child did not start PostgreSQL");
    }
    child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    long abandoned =
        Long.parseLong(Files.readAllLines(pgdata.resolve("postmaster.pid")).get(0).trim());
    Optional<ProcessHandle> orphan = ProcessHandle.of(abandoned).filter(ProcessHandle::isAlive);
    assertTrue(orphan.isPresent(), "precondition: the killed KMS's PostgreSQL is still running");

    try (EmbeddedPostgresServer again = EmbeddedPostgresServer.start(pgdata, 0);
        Connection c = connect(again);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT v FROM marker")) {
      assertTrue(rs.next());
      assertEquals(
          "written before the kill", rs.getString(1), "the data survived the kill and the restart");
      assertTrue(
          orphan.get().onExit().isDone() || !orphan.get().isAlive(),
          "the abandoned server was stopped");
    } finally {
      orphan.ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  void aDataDirectoryOwnedByARunningServerIsRefusedAndLeftServing(@TempDir Path dir)
      throws Exception {
    Path pgdata = dir.resolve("pgdata");
    try (EmbeddedPostgresServer owner = EmbeddedPostgresServer.start(pgdata, 0)) {
      UncheckedIOException refused =
          assertThrows(UncheckedIOException.class, () -> EmbeddedPostgresServer.start(pgdata, 0));
      assertTrue(
          String.valueOf(refused.getCause().getMessage())
              .contains("owned by another running process"),
          refused.getCause().getMessage());
      try (Connection c = connect(owner);
          Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT 1")) {
        assertTrue(rs.next(), "the owner's server still serves");
      }
    }
  }

  @Test
  void aStalePidFileOfAnotherProgramIsNeverSignalled(@TempDir Path dir) throws Exception {
    Path pgdata = Files.createDirectories(dir.resolve("pgdata"));
    // a live process that is not PostgreSQL: this JVM's own pid
    Files.write(
        pgdata.resolve("postmaster.pid"),
        List.of(Long.toString(ProcessHandle.current().pid()), pgdata.toString()));
    UncheckedIOException refused =
        assertThrows(UncheckedIOException.class, () -> EmbeddedPostgresServer.start(pgdata, 0));
    assertTrue(
        refused.getCause().getMessage().contains("not this directory's PostgreSQL"),
        refused.getCause().getMessage());
    assertTrue(ProcessHandle.current().isAlive());
  }

  private static Connection connect(EmbeddedPostgresServer server) throws Exception {
    DatabaseCoordinates db = server.coordinates();
    return DriverManager.getConnection(
        "jdbc:postgresql://" + db.host() + ":" + db.port() + "/" + db.database(),
        db.username(),
        db.password());
  }
}
