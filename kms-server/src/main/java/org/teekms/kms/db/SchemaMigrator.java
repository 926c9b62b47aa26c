package org.teekms.kms.db;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Brings a PostgreSQL database to the current schema (classpath:db/migration, versioned Flyway
 * migrations).
 *
 * <p>Flyway needs JDBC, the server runs on the reactive client: migrations use one short-lived JDBC
 * connection at startup, before the reactive pool serves anything. Several replicas starting
 * together are safe: Flyway takes a PostgreSQL advisory lock around the migration.
 */
public final class SchemaMigrator {

  private SchemaMigrator() {}

  /**
   * Applies pending migrations; returns the schema version now in place. Fails if an applied one
   * was edited.
   */
  public static String migrate(DatabaseCoordinates db) {
    Flyway flyway =
        Flyway.configure()
            .dataSource(db.jdbcUrl(), db.username(), db.password())
            .locations("classpath:db/migration")
            .validateMigrationNaming(true)
            .cleanDisabled(true)
            .load();
    MigrateResult result = flyway.migrate();
    return result.targetSchemaVersion != null
        ? result.targetSchemaVersion
        : flyway.info().current().getVersion().getVersion();
  }
}
