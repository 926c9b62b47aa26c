package org.teekms.kms.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.scheduler.Scheduled;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Scheduled jobs that read the database wait for the schema migration (first start: they logged
 * {@code relation … does not exist} while Flyway had not run yet).
 */
class SchemaGateTest {

  /**
   * Jobs that never touch the database (they may run before the migration): certificate renewal,
   * and the clock probe, which reads only the chain's latest block.
   */
  private static final Set<String> WITHOUT_DATABASE =
      Set.of("RaTlsRenewal.renew", "ClockSkewRefresh.refresh");

  @Test
  void theGateSkipsUntilTheSchemaIsMigrated() {
    SchemaGate gate = new SchemaGate();
    assertTrue(gate.test(null), "skipped before the migration");
    gate.migrated();
    assertFalse(gate.test(null), "runs once the schema is migrated");
    assertTrue(gate.isMigrated());
  }

  @Test
  void everyScheduledJobThatReadsTheDatabaseWaitsForTheMigration() throws Exception {
    Path classes = Path.of("target/classes");
    List<String> scheduled = new ArrayList<>();
    Set<String> ungated = new TreeSet<>();
    try (Stream<Path> files = Files.walk(classes)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = classes.relativize(f).toString();
        if (!name.endsWith(".class") || name.contains("$")) {
          continue;
        }
        Class<?> c =
            Class.forName(
                name.substring(0, name.length() - ".class".length()).replace('/', '.'),
                false,
                getClass().getClassLoader());
        for (Method m : c.getDeclaredMethods()) {
          Scheduled s = m.getAnnotation(Scheduled.class);
          if (s == null) {
            continue;
          }
          String job = c.getSimpleName() + "." + m.getName();
          scheduled.add(job);
          if (s.skipExecutionIf() != SchemaGate.class && !WITHOUT_DATABASE.contains(job)) {
            ungated.add(job);
          }
        }
      }
    }
    assertTrue(scheduled.size() >= 5, "the scan found the scheduled jobs: " + scheduled);
    assertEquals(Set.of(), ungated, "scheduled jobs not held by SchemaGate");
  }
}
