package org.teekms.kms.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.teekms.keys.AppId;
import org.teekms.kms.keystate.RotationSchedule;

/**
 * Each gauge is registered once, however often its value is recorded (no "Gauge already registered"
 * warning).
 */
class RotationDueMetricsGaugeTest {
  @Test
  void recordingAgainUpdatesTheValueWithoutRegisteringTheGaugeAgain() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicInteger attempts = new AtomicInteger();
    // A filter's map() runs on every registration attempt, including one Micrometer then ignores
    // with a warning.
    registry
        .config()
        .meterFilter(
            new MeterFilter() {
              @Override
              public Meter.Id map(Meter.Id id) {
                if (id.getName().equals("teekms.app.rotation.due")) {
                  attempts.incrementAndGet();
                }
                return id;
              }
            });
    RotationDueMetrics metrics = new RotationDueMetrics(registry, null, null, null);
    byte[] app = new byte[20];
    metrics.record(
        AppId.of(app),
        new RotationSchedule(false, 60, 0, 1, 1, "0x", null),
        metrics.readStarting());
    metrics.record(
        AppId.of(app), new RotationSchedule(true, 60, 0, 1, 2, "0x", null), metrics.readStarting());
    metrics.record(AppId.of(app), RotationSchedule.failed("rpc down"), metrics.readStarting());
    assertEquals(1, attempts.get());
    assertEquals(1, registry.find("teekms.app.rotation.due").gauges().size());
    assertEquals(Double.NaN, registry.get("teekms.app.rotation.due").gauge().value());
    assertEquals(0.0, registry.get("teekms.apps.rotation.due").gauge().value());
  }

  @Test
  void atMostMaxAppsGaugesAreEverRegistered() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    RotationDueMetrics metrics = new RotationDueMetrics(registry, null, null, null);
    RotationSchedule due = new RotationSchedule(true, 60, 0, 1, 2, "0x", null);
    for (int i = 0; i < RotationDueMetrics.MAX_APPS + 50; i++) {
      byte[] app = new byte[20];
      java.nio.ByteBuffer.wrap(app).putInt(i);
      metrics.record(AppId.of(app), due, metrics.readStarting());
    }
    assertEquals(
        RotationDueMetrics.MAX_APPS, registry.find("teekms.app.rotation.due").gauges().size());
    assertEquals(
        (double) RotationDueMetrics.MAX_APPS,
        registry.get("teekms.apps.rotation.due").gauge().value());
  }

  @Test
  void aSlowReadThatStartedEarlierDoesNotOverwriteANewerAnswer() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    RotationDueMetrics metrics = new RotationDueMetrics(registry, null, null, null);
    byte[] app = new byte[20];
    long periodic = metrics.readStarting();
    long auditor = metrics.readStarting();
    metrics.record(AppId.of(app), new RotationSchedule(true, 60, 0, 1, 3, "0x", null), auditor);
    metrics.record(AppId.of(app), new RotationSchedule(false, 60, 0, 1, 2, "0x", null), periodic);
    assertEquals(1.0, metrics.value(AppId.of(app)));
    assertEquals(1.0, registry.get("teekms.apps.rotation.due").gauge().value());
  }
}
