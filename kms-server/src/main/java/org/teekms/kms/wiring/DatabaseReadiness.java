package org.teekms.kms.wiring;

import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.teekms.kms.roots.RootGenerationStore;

/**
 * Ready only when the database answers and holds a CURRENT root generation (the KMS can release
 * keys).
 */
@Readiness
@ApplicationScoped
public class DatabaseReadiness implements AsyncHealthCheck {

  private final RootGenerationStore roots;

  public DatabaseReadiness(RootGenerationStore roots) {
    this.roots = roots;
  }

  @Override
  public Uni<HealthCheckResponse> call() {
    return roots
        .current()
        .map(
            current ->
                current.isPresent()
                    ? HealthCheckResponse.named("kms-state")
                        .up()
                        .withData("currentGeneration", current.get().generation())
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
