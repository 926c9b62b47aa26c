package org.teekms.kms.status;

import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * This node's clock against the chain's ({@link ClockSkewProbe}): always UP (a clock that cannot be
 * compared, or an idle development chain, must not take a node out of service), with the skew, the
 * allowance and, beyond the allowance or when unknown, a {@code warning} that says what it breaks.
 */
@Readiness
@ApplicationScoped
public class ClockReadiness implements AsyncHealthCheck {

  private final ClockSkewProbe probe;

  public ClockReadiness(ClockSkewProbe probe) {
    this.probe = probe;
  }

  @Override
  public Uni<HealthCheckResponse> call() {
    return Uni.createFrom()
        .item(probe::read)
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
        .map(
            r -> {
              var b =
                  HealthCheckResponse.named("clock")
                      .up()
                      .withData("allowanceSeconds", r.allowance().toSeconds());
              if (r.known()) {
                b.withData("skewSeconds", r.skew().toSeconds());
                b.withData("chainBlock", r.head().get().number());
              }
              if (!r.withinAllowance()) {
                b.withData("warning", r.problem());
              }
              return b.build();
            });
  }
}
