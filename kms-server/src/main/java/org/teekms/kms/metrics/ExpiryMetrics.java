package org.teekms.kms.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.teekms.kms.tls.RaTlsSetup;

/**
 * Gauges for what expires under a running KMS, so an alert fires before clients are refused: {@code
 * teekms_collateral_expiry_seconds} (until the first cached entry of clients' quote collateral
 * stops being served: its nextUpdate or {@code teekms.collateral.max-age} after its fetch; a failed
 * refresh past it refuses every client), {@code teekms_collateral_age_seconds} (age of the oldest
 * cached entry) and {@code teekms_ratls_certificate_expiry_seconds} (until this node's RA-TLS
 * server certificate expires; it is renewed at half its validity, so a value below half means
 * renewal is failing). NaN when unknown: nothing cached yet, or the simulator (whose collateral is
 * generated).
 */
@ApplicationScoped
public class ExpiryMetrics {

  // Literal meter names: deploy-check matches the dashboard and the alert rules against them.
  void register(
      @Observes StartupEvent start, MeterRegistry registry, RaTlsSetup ratls, Clock clock) {
    Gauge.builder(
            "teekms.collateral.expiry.seconds",
            ratls,
            r ->
                value(
                    r.collateralState()
                        .flatMap(s -> s.earliestExpiry())
                        .map(t -> seconds(clock.instant(), t))))
        .description(
            "Seconds until the first cached entry of clients' quote collateral stops being served")
        .strongReference(true)
        .register(registry);
    Gauge.builder(
            "teekms.collateral.age.seconds",
            ratls,
            r ->
                value(
                    r.collateralState()
                        .flatMap(s -> s.oldestFetch())
                        .map(t -> seconds(t, clock.instant()))))
        .description("Age in seconds of the oldest cached quote collateral")
        .strongReference(true)
        .register(registry);
    Gauge.builder(
            "teekms.ratls.certificate.expiry.seconds",
            ratls,
            r -> seconds(clock.instant(), r.certificate().getNotAfter().toInstant()))
        .description(
            "Seconds until this node's RA-TLS server certificate expires (renewed at half its validity)")
        .strongReference(true)
        .register(registry);
  }

  private static double value(Optional<Double> v) {
    return v.orElse(Double.NaN);
  }

  static double seconds(Instant from, Instant to) {
    return Duration.between(from, to).toMillis() / 1000.0;
  }
}
