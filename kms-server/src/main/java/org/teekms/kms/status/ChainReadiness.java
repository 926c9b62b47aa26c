package org.teekms.kms.status;

import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready only when at least the quorum of chain RPC endpoints answers with the configured chain id:
 * with fewer, every admission is refused CHAIN_UNAVAILABLE, so a load balancer should send clients
 * to another replica. Data: endpoints up / needed, and each down endpoint's {@code
 * scheme://host:port} with the reason (never a URL's path or query).
 */
@Readiness
@ApplicationScoped
public class ChainReadiness implements AsyncHealthCheck {

  private final ChainHealth health;

  public ChainReadiness(ChainHealth health) {
    this.health = health;
  }

  @Override
  public Uni<HealthCheckResponse> call() {
    return Uni.createFrom()
        .item(health::state)
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
        .map(
            s -> {
              var r =
                  HealthCheckResponse.named("chain")
                      .status(s.healthy())
                      .withData("endpointsUp", s.up())
                      .withData("quorum", s.quorum());
              if (!s.healthy()) {
                r.withData("reason", s.problem());
              }
              return r.build();
            });
  }
}
