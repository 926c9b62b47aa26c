package org.teekms.kms.app;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.db.EmbeddedPostgresServer;

/**
 * A real PostgreSQL for a @QuarkusTest (what KmsMain does when no URL is configured), plus a fresh
 * data dir.
 */
public class EmbeddedPostgresResource implements QuarkusTestResourceLifecycleManager {

  private EmbeddedPostgresServer server;

  @Override
  public Map<String, String> start() {
    Path dir;
    try {
      dir = Files.createTempDirectory("teekms-qt");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server = EmbeddedPostgresServer.start(dir.resolve("pgdata"), 0);
    DatabaseCoordinates db = server.coordinates();
    return Map.of(
        "quarkus.datasource.reactive.url",
        db.reactiveUrl(),
        "quarkus.datasource.username",
        db.username(),
        "quarkus.datasource.password",
        db.password(),
        "teekms.data-dir",
        dir.toString());
  }

  @Override
  public void stop() {
    if (server != null) {
      server.close();
    }
  }
}
