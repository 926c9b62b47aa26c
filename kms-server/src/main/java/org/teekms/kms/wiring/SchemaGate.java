package org.teekms.kms.wiring;

import io.quarkus.scheduler.Scheduled;
import io.quarkus.scheduler.ScheduledExecution;
import jakarta.inject.Singleton;

/**
 * Holds the scheduled jobs that read the database until {@link KmsStartup} has migrated the schema
 * ({@code SchemaMigrator}): on a first start the scheduler begins during startup, and a job that
 * ran earlier logged {@code relation … does not exist} (docs/reliability.md). Each such job names
 * this class in {@code @Scheduled(skipExecutionIf = SchemaGate.class)}; a skipped execution simply
 * waits for the next period.
 */
@Singleton
public class SchemaGate implements Scheduled.SkipPredicate {

  private volatile boolean migrated;

  /** Called once the schema is at the version this build expects. */
  public void migrated() {
    migrated = true;
  }

  public boolean isMigrated() {
    return migrated;
  }

  /** Skip while the schema is not migrated yet. */
  @Override
  public boolean test(ScheduledExecution execution) {
    return !migrated;
  }
}
