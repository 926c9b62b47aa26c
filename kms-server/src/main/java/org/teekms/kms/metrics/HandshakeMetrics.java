package org.teekms.kms.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.function.ToDoubleFunction;
import org.teekms.kms.tls.BoundedClientVerification;
import org.teekms.kms.tls.RaTlsSetup;

/**
 * What the handshake bounds did ({@link BoundedClientVerification}): {@code
 * teekms_ratls_client_handshakes_total {outcome}} with {@code outcome} = {@code verified} (a slot
 * was taken and the certificate verified), {@code rate_limited} (its source was over {@code
 * teekms.limits.handshakes-per-minute}) or {@code slots_busy} (no verification slot within {@code
 * teekms.limits.verification-wait}); and {@code teekms_ratls_verifications_on_event_loop_total},
 * verifications that ran on an event-loop thread (0 unless the TLS engine's worker offload is lost:
 * then an event loop is blocked for every verification).
 */
@ApplicationScoped
public class HandshakeMetrics {

  void register(@Observes StartupEvent start, MeterRegistry registry, RaTlsSetup ratls) {
    BoundedClientVerification bounded = ratls.boundedTrustManager();
    counter(registry, bounded, "verified", o -> o.outcomes().verified());
    counter(registry, bounded, "rate_limited", o -> o.outcomes().rateLimited());
    counter(registry, bounded, "slots_busy", o -> o.outcomes().slotsBusy());
    FunctionCounter.builder(
            "teekms.ratls.verifications.on.event.loop",
            bounded,
            o -> o.outcomes().verifiedOnEventLoop())
        .description("Client RA-TLS certificates verified on an event-loop thread (should stay 0)")
        .register(registry);
  }

  private static void counter(
      MeterRegistry registry,
      BoundedClientVerification bounded,
      String outcome,
      ToDoubleFunction<BoundedClientVerification> count) {
    FunctionCounter.builder("teekms.ratls.client.handshakes", bounded, count)
        .tag("outcome", outcome)
        .description("Handshakes presenting a client certificate, by what the handshake bounds did")
        .register(registry);
  }
}
