package org.teekms.kms.wiring;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;
import java.nio.file.Path;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;
import org.teekms.kms.db.DatabaseCoordinates;
import org.teekms.kms.db.EmbeddedPostgresServer;
import org.teekms.kms.tls.JsseLimits;

/**
 * Entry point. When no {@code quarkus.datasource.reactive.url} is configured, starts a real
 * PostgreSQL (embedded binaries) in {@code {teekms.data-dir}/pgdata} and points the datasource at
 * it, so the KMS runs with one command and keeps its state across restarts.
 */
@QuarkusMain
public final class KmsMain {

  private static final Logger LOG = Logger.getLogger(KmsMain.class);

  private KmsMain() {}

  public static void main(String... args) {
    JsseLimits.install();
    var config = ConfigProvider.getConfig();
    EmbeddedPostgresServer embedded = null;
    if (config.getOptionalValue("quarkus.datasource.reactive.url", String.class).isEmpty()) {
      Path dataDir =
          Path.of(config.getOptionalValue("teekms.data-dir", String.class).orElse(".teekms/kms"));
      int port = config.getOptionalValue("teekms.embedded-db.port", Integer.class).orElse(0);
      embedded = EmbeddedPostgresServer.start(dataDir.resolve("pgdata"), port);
      DatabaseCoordinates db = embedded.coordinates();
      LOG.infof(
          "no datasource configured: started embedded PostgreSQL in %s on %s:%d",
          dataDir.resolve("pgdata"), db.host(), db.port());
      System.setProperty("quarkus.datasource.reactive.url", db.reactiveUrl());
      System.setProperty("quarkus.datasource.username", db.username());
      System.setProperty("quarkus.datasource.password", db.password());
      EmbeddedPostgresServer server = embedded;
      // Quarkus exits the JVM itself on shutdown; stop PostgreSQL after the application has
      // stopped.
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "embedded-postgres-stop"));
    }
    Quarkus.run(args);
  }
}
