package org.teekms.kms.wiring;

import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready only when the database answers and holds a CURRENT root generation (the KMS can release
 * keys).
 */
@Readiness
@ApplicationScoped
public class DatabaseReadiness implements AsyncHealthCheck {

  private final Pool pool;

  public DatabaseReadiness(Pool pool) {
    this.pool = pool;
  }

  @Override
  public Uni<HealthCheckResponse> call() {
    return org.teekms.kms.db.PoolQueries.query(
            pool, "SELECT generation FROM root_generation WHERE state = 'CURRENT'")
        .map(
            rows ->
                rows.size() == 1
                    ? HealthCheckResponse.named("kms-state")
                        .up()
                        .withData("currentGeneration", rows.iterator().next().getInteger(0))
                        .build()
                    : HealthCheckResponse.named("kms-state")
                        .down()
                        .withData("reason", "no CURRENT root generation")
                        .build())
        .onFailure()
        .recoverWithItem(
            e ->
                HealthCheckResponse.named("kms-state")
                    .down()
                    .withData("reason", "database unreachable: " + e.getMessage())
                    .build());
  }
}
