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
import java.util.function.Supplier;
import org.teekms.kms.tls.RaTlsSetup;

/**
 * Gauges for what expires under a running KMS, so an alert fires before clients are refused:
 * {@code teekms_collateral_expiry_seconds} (until the first cached entry of clients' quote collateral stops being
 * served: its nextUpdate or {@code teekms.collateral.max-age} after its fetch; a failed refresh past it refuses every
 * client), {@code teekms_collateral_age_seconds} (age of the oldest cached entry) and
 * {@code teekms_ratls_certificate_expiry_seconds} (until this node's RA-TLS server certificate expires; it is renewed
 * at half its validity, so a value below half means renewal is failing). NaN when unknown: nothing cached yet, or the
 * simulator (whose collateral is generated).
 */
@ApplicationScoped
public class ExpiryMetrics {

  void register(@Observes StartupEvent start, MeterRegistry registry, RaTlsSetup ratls, Clock clock) {
    gauge(registry, "teekms.collateral.expiry.seconds",
        "Seconds until the first cached entry of clients' quote collateral stops being served",
        () -> ratls.collateralState().flatMap(s -> s.earliestExpiry()).map(t -> seconds(clock.instant(), t)));
    gauge(registry, "teekms.collateral.age.seconds", "Age in seconds of the oldest cached quote collateral",
        () -> ratls.collateralState().flatMap(s -> s.oldestFetch()).map(t -> seconds(t, clock.instant())));
    gauge(registry, "teekms.ratls.certificate.expiry.seconds",
        "Seconds until this node's RA-TLS server certificate expires (renewed at half its validity)",
        () -> Optional.of(seconds(clock.instant(), ratls.certificate().getNotAfter().toInstant())));
  }

  private static void gauge(MeterRegistry registry, String name, String description, Supplier<Optional<Double>> value) {
    Gauge.builder(name, value, v -> v.get().orElse(Double.NaN)).description(description).register(registry);
  }

  static double seconds(Instant from, Instant to) {
    return Duration.between(from, to).toMillis() / 1000.0;
  }
}
