package org.teekms.kms.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;
import org.teekms.keys.AppId;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.keystate.RotationSchedule;
import org.teekms.kms.keystate.RotationScheduleReader;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Prometheus view of the on-chain rotation schedule of the apps this KMS serves: {@code
 * teekms_app_rotation_due{app}} (1 due, 0 not due, NaN when the last read failed) and {@code
 * teekms_apps_rotation_due} (how many are due). Refreshed for every app with key state every {@code
 * teekms.rotation.due-check-interval}, and whenever an auditor reads an app's effective policy. The
 * KMS does not rotate on its own when a rotation is due (README "Rotation"): this is the signal for
 * the owner's automation or an alert.
 */
@ApplicationScoped
public class RotationDueMetrics {

  private static final Logger LOG = Logger.getLogger(RotationDueMetrics.class);

  /** Apps refreshed per run at most: the gauge is a signal, not an inventory. */
  static final int MAX_APPS = 10_000;

  private final MeterRegistry registry;
  private final RotationScheduleReader reader;
  private final StateSessions sessions;
  private final KmsConfig config;
  private final Map<String, Double> due = new ConcurrentHashMap<>();

  /**
   * Apps whose gauge exists: registered once (a second registration only earns Micrometer's
   * "already registered" warning).
   */
  private final java.util.Set<String> registered = ConcurrentHashMap.newKeySet();

  /**
   * When the read behind each app's value started: a slow read that began before a newer one
   * finished (the periodic refresh racing an auditor's GetEffectivePolicy) must not put its older
   * answer back.
   */
  private final Map<String, Long> readStarted = new ConcurrentHashMap<>();

  private final java.util.concurrent.atomic.AtomicLong reads =
      new java.util.concurrent.atomic.AtomicLong();

  public RotationDueMetrics(
      MeterRegistry registry,
      RotationScheduleReader reader,
      StateSessions sessions,
      KmsConfig config) {
    this.registry = registry;
    this.reader = reader;
    this.sessions = sessions;
    this.config = config;
    Gauge.builder(
            "teekms.apps.rotation.due", due, m -> m.values().stream().filter(v -> v == 1.0).count())
        .description(
            "Apps served by this KMS whose on-chain key rotation period has elapsed (AppPolicy.rotationDue)")
        .register(registry);
  }

  /**
   * A ticket to take just before reading a schedule, for {@link #record(byte[], RotationSchedule,
   * long)}.
   */
  public long readStarting() {
    return reads.incrementAndGet();
  }

  /**
   * Records a schedule just read (NaN on failure: an unknown state is not "not due"), for an app
   * this KMS serves only (callers check: the Auditor API records apps with key state); at most
   * {@link #MAX_APPS} apps are tracked. Ignored when a read that started later ({@code readTicket}
   * from {@link #readStarting()}) was already recorded.
   */
  public void record(AppId appId, RotationSchedule schedule, long readTicket) {
    String app = appId.toString();
    // At most MAX_APPS gauges (time series) ever: past that, apps not yet tracked are left out of
    // the metrics.
    synchronized (registered) {
      if (!registered.contains(app) && registered.size() >= MAX_APPS) {
        return;
      }
      if (readStarted.getOrDefault(app, 0L) > readTicket) {
        return;
      }
      readStarted.put(app, readTicket);
      due.put(app, !schedule.read() ? Double.NaN : schedule.due() ? 1.0 : 0.0);
      if (!registered.add(app)) {
        return;
      }
    }
    Gauge.builder("teekms.app.rotation.due", due, m -> m.getOrDefault(app, Double.NaN))
        .description(
            "1 when the app's on-chain key rotation period has elapsed (AppPolicy.rotationDue), 0 when not, "
                + "NaN when the chain could not be read")
        .tag("app", app)
        .register(registry);
  }

  /** The last recorded value for an app (NaN unknown). */
  public double value(AppId appId) {
    return due.getOrDefault(appId.toString(), Double.NaN);
  }

  /**
   * Reads the schedule of every app with key state (at most {@link #MAX_APPS}); answers how many
   * were read. Non-blocking: the app list is read reactively, the chain reads (blocking RPCs) run
   * on the worker pool.
   */
  public Uni<Integer> refresh() {
    return AppKeyStateStore.apps(sessions, MAX_APPS)
        .ifNoItem()
        .after(config.dbTimeout())
        .fail()
        .emitOn(Infrastructure.getDefaultWorkerPool())
        .map(
            apps -> {
              int read = 0;
              for (AppId app : apps) {
                long ticket = readStarting();
                RotationSchedule s = reader.read(app);
                record(app, s, ticket);
                read += s.read() ? 1 : 0;
              }
              return read;
            });
  }

  @Scheduled(
      every = "${teekms.rotation.due-check-interval:5m}",
      delayed = "30s",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
      skipExecutionIf = org.teekms.kms.wiring.SchemaGate.class)
  Uni<Void> scheduledRefresh() {
    return refresh()
        .onFailure()
        .invoke(e -> LOG.warnf("rotation-due refresh failed (will retry): %s", e.getMessage()))
        .onFailure()
        .recoverWithNull()
        .replaceWithVoid();
  }
}
